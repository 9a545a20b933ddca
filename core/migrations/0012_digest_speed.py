from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0011_projects')]

    initial = False

    operations = [
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
    ]
