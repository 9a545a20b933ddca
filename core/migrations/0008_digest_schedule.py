from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0007_welcome')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Member',
            name='recap_enabled',
            field=fields.BooleanField(default=False, db_default=False),
        ),
        ops.AddField(
            model_name='Workspace',
            name='digest_schedule',
            field=fields.CharField(default='weekly', db_default='weekly', max_length=16),
        ),
        ops.AddField(
            model_name='Workspace',
            name='next_digest_at',
            field=fields.DatetimeField(null=True, db_index=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Workspace',
            name='next_recap_at',
            field=fields.DatetimeField(null=True, db_index=True, auto_now=False, auto_now_add=False),
        ),
    ]
