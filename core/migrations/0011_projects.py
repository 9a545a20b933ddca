from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0010_mixers')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Project',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('workspace', fields.ForeignKeyField('models.Workspace', source_field='workspace_id', db_constraint=True, to_field='id', related_name='projects', on_delete=OnDelete.CASCADE)),
                ('key', fields.CharField(max_length=32)),
                ('name', fields.CharField(max_length=100)),
                ('purpose', fields.TextField(default='', unique=False)),
                ('department_ids', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('channel', fields.CharField(null=True, max_length=255)),
                ('start_date', fields.DateField()),
                ('end_date', fields.DateField(null=True)),
                ('status', fields.CharField(default='open', max_length=16)),
                ('owner', fields.ForeignKeyField('models.Member', source_field='owner_id', null=True, db_constraint=True, to_field='id', related_name='owned_projects', on_delete=OnDelete.SET_NULL)),
                ('closed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('announced_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'project', 'app': 'models', 'unique_together': (('workspace', 'key'),), 'indexes': [Index(fields=['workspace_id', 'channel']), Index(fields=['status', 'end_date'])], 'pk_attr': 'id', 'table_description': 'People of several departments working toward one result, for a while.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ProjectMember',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('project', fields.ForeignKeyField('models.Project', source_field='project_id', db_constraint=True, to_field='id', related_name='memberships', on_delete=OnDelete.CASCADE)),
                ('member', fields.ForeignKeyField('models.Member', source_field='member_id', db_constraint=True, to_field='id', related_name='project_memberships', on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'project_member', 'app': 'models', 'unique_together': (('project', 'member'),), 'pk_attr': 'id', 'table_description': 'A member of a project (from any department).'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Thanks',
            name='project',
            field=fields.ForeignKeyField('models.Project', source_field='project_id', null=True, db_constraint=True, to_field='id', related_name='thanks', on_delete=OnDelete.SET_NULL),
        ),
        ops.AddIndex(
            model_name='Thanks',
            index=Index(fields=['project_id', 'created_at']),
        ),
    ]
