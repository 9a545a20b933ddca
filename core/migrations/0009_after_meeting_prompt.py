from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0008_digest_schedule')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Meeting',
            name='next_prompt_at',
            field=fields.DatetimeField(null=True, db_index=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Meeting',
            name='next_prompt_occurrence',
            field=fields.CharField(null=True, max_length=16),
        ),
        ops.AddField(
            model_name='Meeting',
            name='thanks_prompt',
            field=fields.BooleanField(default=True, db_default=True),
        ),
        # AddField does not create a ``db_index`` index (CreateModel does): made here, under the name the
        # schema generator gives it, so the scheduler's due query is an index range scan.
        ops.RunSQL(
            'CREATE INDEX IF NOT EXISTS "idx_meeting_next_pr_49f07b" ON "meeting" ("next_prompt_at")',
            reverse_sql='DROP INDEX IF EXISTS "idx_meeting_next_pr_49f07b"',
        ),
        # Meetings scheduled before prompts existed have no plan yet: marked due with no occurrence, the
        # scheduler's next pass plans their first prompt from then on (nothing is posted for the past).
        ops.RunSQL(
            "UPDATE meeting SET next_prompt_at = '2000-01-01 00:00:00+00:00' WHERE status = 'active'",
            reverse_sql=ops.RunSQL.noop,
        ),
    ]
