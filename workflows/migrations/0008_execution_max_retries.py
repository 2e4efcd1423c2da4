from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('workflows', '0007_workflowrun'),
    ]

    operations = [
        migrations.AddField(
            model_name='workflowexecution',
            name='max_retries',
            field=models.PositiveSmallIntegerField(blank=True, help_text="Given when the run was started: the retries of each step that sets none of its own, in place of the workflow's default. Empty: the workflow's (and steps') policy as defined.", null=True),
        ),
    ]
