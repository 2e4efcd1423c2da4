"""Fewer indexes written by every step (docs/adr/0015-a-step-s-budget.md): each of a step's UPDATEs
changes `status`, so it writes an entry into every index of the table. Gone: the plain index of
TaskExecution.execution and of ExecutionLog.execution (task_attempt_unique and log_execution_time
lead with the same column and serve the same lookups), and task_status_step, which no query used.

The foreign keys stay as they are: only their indexes are dropped (Django's AlterField would drop
and re-add the constraints, validating every row of both tables)."""

from django.db import migrations, models
import django.db.models.deletion

INDEXED = (("workflows_taskexecution", "execution_id"), ("workflows_executionlog", "execution_id"))


def drop_indexes(apps, schema_editor):
    for table, column in INDEXED:
        name = schema_editor._create_index_name(table, [column], suffix="")
        schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(name)}")


def create_indexes(apps, schema_editor):
    for table, column in INDEXED:
        name = schema_editor._create_index_name(table, [column], suffix="")
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {schema_editor.quote_name(name)} "
                              f"ON {schema_editor.quote_name(table)} ({schema_editor.quote_name(column)})")


class Migration(migrations.Migration):

    dependencies = [
        ('workflows', '0005_waiting_is_free'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='taskexecution',
            name='task_status_step',
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='executionlog',
                    name='execution',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE,
                                            related_name='logs', to='workflows.workflowexecution'),
                ),
                migrations.AlterField(
                    model_name='taskexecution',
                    name='execution',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE,
                                            related_name='task_executions', to='workflows.workflowexecution'),
                ),
            ],
            database_operations=[migrations.RunPython(drop_indexes, create_indexes)],
        ),
    ]
