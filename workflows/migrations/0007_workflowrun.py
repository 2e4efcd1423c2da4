"""WorkflowRun: code workflows' runs as a model (a proxy of WorkflowExecution, workflows/code/runs.py).
No table and no column: the proxy's state only, and its content type and permissions."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('workflows', '0006_fewer_indexes_per_step'),
    ]

    operations = [
        migrations.CreateModel(
            name='WorkflowRun',
            fields=[],
            options={
                'verbose_name': 'code workflow run',
                'proxy': True,
                'indexes': [],
                'constraints': [],
            },
            bases=('workflows.workflowexecution',),
        ),
    ]
