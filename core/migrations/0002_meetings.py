from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Meeting',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('workspace', fields.ForeignKeyField('models.Workspace', source_field='workspace_id', db_constraint=True, to_field='id', related_name='meetings', on_delete=OnDelete.CASCADE)),
                ('title', fields.CharField(max_length=200)),
                ('agenda', fields.TextField(default='', unique=False)),
                ('departments', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('department_ids', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('start_local', fields.CharField(max_length=16)),
                ('timezone', fields.CharField(max_length=64)),
                ('rrule', fields.CharField(default='', max_length=500)),
                ('until_local', fields.DateField(null=True)),
                ('duration_minutes', fields.IntField(default=60)),
                ('place', fields.CharField(default='', max_length=500)),
                ('channel', fields.CharField(max_length=255)),
                ('reminder_offsets', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('organiser', fields.ForeignKeyField('models.Member', source_field='organiser_id', null=True, db_constraint=True, to_field='id', related_name='organised_meetings', on_delete=OnDelete.SET_NULL)),
                ('status', fields.CharField(default='active', max_length=16)),
                ('next_reminder_at', fields.DatetimeField(null=True, db_index=True, auto_now=False, auto_now_add=False)),
                ('next_reminder_occurrence', fields.CharField(null=True, max_length=16)),
                ('next_reminder_offset', fields.IntField(null=True)),
                ('schedule_version', fields.IntField(default=0)),
                ('external_event_id', fields.CharField(null=True, max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'meeting', 'app': 'models', 'indexes': [Index(fields=['workspace_id', 'status'])], 'pk_attr': 'id', 'table_description': 'A (usually recurring) cross-department information-exchange meeting.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='OccurrenceOverride',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('meeting', fields.ForeignKeyField('models.Meeting', source_field='meeting_id', db_constraint=True, to_field='id', related_name='overrides', on_delete=OnDelete.CASCADE)),
                ('occurrence', fields.CharField(max_length=16)),
                ('skipped', fields.BooleanField(default=False)),
                ('moved_to_local', fields.CharField(null=True, max_length=16)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'meeting_override', 'app': 'models', 'unique_together': (('meeting', 'occurrence'),), 'pk_attr': 'id', 'table_description': 'One occurrence skipped or moved, without changing the series.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Rsvp',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('meeting', fields.ForeignKeyField('models.Meeting', source_field='meeting_id', db_constraint=True, to_field='id', related_name='rsvps', on_delete=OnDelete.CASCADE)),
                ('occurrence', fields.CharField(max_length=16)),
                ('member', fields.ForeignKeyField('models.Member', source_field='member_id', db_constraint=True, to_field='id', related_name='rsvps', on_delete=OnDelete.CASCADE)),
                ('answer', fields.CharField(max_length=8)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'meeting_rsvp', 'app': 'models', 'unique_together': (('meeting', 'occurrence', 'member'),), 'pk_attr': 'id', 'table_description': "One member's answer for one occurrence: yes (going), maybe, or no (can't go)."},
            bases=['Model'],
        ),
    ]
