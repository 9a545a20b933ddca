from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0009_after_meeting_prompt')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Mixer',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('workspace', fields.ForeignKeyField('models.Workspace', source_field='workspace_id', db_constraint=True, to_field='id', related_name='mixers', on_delete=OnDelete.CASCADE)),
                ('name', fields.CharField(max_length=200)),
                ('start_local', fields.CharField(max_length=16)),
                ('timezone', fields.CharField(max_length=64)),
                ('rrule', fields.CharField(default='', max_length=500)),
                ('group_size', fields.IntField(default=4)),
                ('place', fields.CharField(default='', max_length=500)),
                ('announce_minutes', fields.IntField(default=1440)),
                ('channel', fields.CharField(max_length=255)),
                ('organiser', fields.ForeignKeyField('models.Member', source_field='organiser_id', null=True, db_constraint=True, to_field='id', related_name='organised_mixers', on_delete=OnDelete.SET_NULL)),
                ('status', fields.CharField(default='active', max_length=16)),
                ('next_round_at', fields.DatetimeField(null=True, db_index=True, auto_now=False, auto_now_add=False)),
                ('next_round_occurrence', fields.CharField(null=True, max_length=16)),
                ('schedule_version', fields.IntField(default=0)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'mixer', 'app': 'models', 'indexes': [Index(fields=['workspace_id', 'status'])], 'pk_attr': 'id', 'table_description': 'A recurring shuffle lunch in one channel.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='MixerParticipant',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('mixer', fields.ForeignKeyField('models.Mixer', source_field='mixer_id', db_constraint=True, to_field='id', related_name='participants', on_delete=OnDelete.CASCADE)),
                ('member', fields.ForeignKeyField('models.Member', source_field='member_id', db_constraint=True, to_field='id', related_name='mixer_participations', on_delete=OnDelete.CASCADE)),
                ('paused_until', fields.DateField(null=True)),
                ('skip_occurrence', fields.CharField(null=True, max_length=16)),
                ('joined_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'mixer_participant', 'app': 'models', 'unique_together': (('mixer', 'member'),), 'pk_attr': 'id', 'table_description': 'Someone who joined a mixer: a pause or a skipped round leaves them out for a while.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='MixerRound',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('mixer', fields.ForeignKeyField('models.Mixer', source_field='mixer_id', db_constraint=True, to_field='id', related_name='rounds', on_delete=OnDelete.CASCADE)),
                ('occurrence', fields.CharField(max_length=16)),
                ('starts_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('seed', fields.CharField(max_length=64)),
                ('unmatched', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('formed_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('reminder_at', fields.DatetimeField(null=True, db_index=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'mixer_round', 'app': 'models', 'unique_together': (('mixer', 'occurrence'),), 'pk_attr': 'id', 'table_description': 'One formed round: the occurrence it is for, and the seed that made its groups.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='MixerGroup',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('round', fields.ForeignKeyField('models.MixerRound', source_field='round_id', db_constraint=True, to_field='id', related_name='groups', on_delete=OnDelete.CASCADE)),
                ('number', fields.IntField()),
                ('external_id', fields.CharField(null=True, max_length=64)),
            ],
            options={'table': 'mixer_group', 'app': 'models', 'unique_together': (('round', 'number'),), 'pk_attr': 'id', 'table_description': 'One group of a round.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='MixerGroupMember',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('group', fields.ForeignKeyField('models.MixerGroup', source_field='group_id', db_constraint=True, to_field='id', related_name='members', on_delete=OnDelete.CASCADE)),
                ('member', fields.ForeignKeyField('models.Member', source_field='member_id', db_constraint=True, to_field='id', related_name='mixer_groups', on_delete=OnDelete.CASCADE)),
                ('met', fields.BooleanField(null=True)),
                ('answered_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'mixer_group_member', 'app': 'models', 'unique_together': (('group', 'member'),), 'pk_attr': 'id', 'table_description': 'Someone in a group, and their answer afterwards: we met (true) or we could not (false).'},
            bases=['Model'],
        ),
    ]
