from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0007_welcome')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Member',
            name='recap_enabled',
            field=fields.BooleanField(default=False, db_default=False),
        ),
        ops.RemoveIndex(
            model_name='Thanks',
            name=None,
            fields=['workspace_id', 'created_at', 'sender_id'],
        ),
        ops.AddIndex(
            model_name='Thanks',
            index=Index(fields=['workspace_id', 'created_at', 'sender_id', 'clap_count']),
        ),
        ops.RemoveIndex(
            model_name='ThanksRecipient',
            name=None,
            fields=['workspace_id', 'created_at', 'recipient_id'],
        ),
        ops.AddIndex(
            model_name='ThanksRecipient',
            index=Index(fields=['workspace_id', 'created_at', 'recipient_id', 'sender_id', 'sender_department_id', 'recipient_department_id']),
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
