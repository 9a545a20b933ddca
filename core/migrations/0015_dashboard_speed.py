from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0014_project_meetings')]

    initial = False

    operations = [
        ops.CreateModel(
            name='DashboardEpoch',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('workspace', fields.OneToOneField('models.Workspace', source_field='workspace_id', db_constraint=True, to_field='id', related_name='dashboard_epoch', on_delete=OnDelete.CASCADE)),
                ('epoch', fields.IntField(default=0)),
            ],
            options={'table': 'dashboard_epoch', 'app': 'models', 'pk_attr': 'id', 'table_description': "How many times a workspace's history was restated (departments merged): stored figures of an older"},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='DashboardFigure',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('workspace', fields.ForeignKeyField('models.Workspace', source_field='workspace_id', db_constraint=True, to_field='id', related_name='dashboard_figures', on_delete=OnDelete.CASCADE)),
                ('epoch', fields.IntField(default=0)),
                ('kind', fields.CharField(max_length=16)),
                ('window_start', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('window_end', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('department', fields.IntField(default=0)),
                ('data', fields.BinaryField()),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'dashboard_figure', 'app': 'models', 'unique_together': (('workspace', 'epoch', 'kind', 'window_start', 'window_end', 'department'),), 'pk_attr': 'id', 'table_description': 'A figure of a period that has ended, as computed once: raw counts before any privacy rule, so one'},
            bases=['Model'],
        ),
    ]
