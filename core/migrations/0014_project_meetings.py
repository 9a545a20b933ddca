from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0013_dashboard')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Meeting',
            name='project',
            field=fields.ForeignKeyField('models.Project', source_field='project_id', null=True, db_constraint=True, to_field='id', related_name='meetings', on_delete=OnDelete.SET_NULL),
        ),
        ops.AddIndex(
            model_name='Meeting',
            index=Index(fields=['project_id', 'status']),
        ),
    ]
