from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0003_meeting_idempotency')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='DepartmentFlow',
            index=Index(fields=['workspace_id', 'sender_department_id', 'recipient_department_id', 'day', 'count']),
        ),
        ops.RemoveIndex(
            model_name='Thanks',
            name=None,
            fields=['workspace_id', 'sender_id', 'local_day'],
        ),
        ops.AddIndex(
            model_name='Thanks',
            index=Index(fields=['workspace_id', 'local_day', 'sender_id']),
        ),
    ]
