from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0006_names_at_the_time')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Welcome',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('workspace', fields.ForeignKeyField('models.Workspace', source_field='workspace_id', db_constraint=True, to_field='id', related_name='welcomes', on_delete=OnDelete.CASCADE)),
                ('conversation', fields.CharField(max_length=255)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'welcome', 'app': 'models', 'unique_together': (('workspace', 'conversation'),), 'pk_attr': 'id', 'table_description': 'A conversation Kizuna has said hello in since it was last installed there.'},
            bases=['Model'],
        ),
    ]
