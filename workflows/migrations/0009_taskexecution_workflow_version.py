from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('workflows', '0008_execution_max_retries'),
    ]

    operations = [
        migrations.AddField(
            model_name='taskexecution',
            name='workflow_version',
            field=models.PositiveIntegerField(blank=True, help_text='The number of the workflow version this attempt ran (or will run) with: a retry on the latest version moves a run\'s open steps to it. Empty for attempts recorded before it was kept.', null=True),
        ),
    ]
