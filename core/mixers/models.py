"""Mixer models: a shuffle-lunch series, its participants, and the rounds, groups and answers it made.

Like a meeting, a mixer keeps only its *next* announcement (``next_round_at``, indexed) so a
scheduler pass reads what is due and nothing else; ``schedule_version`` is bumped by every change
and by the pass that forms a round (the claim). A round is unique per (mixer, occurrence), so it is
formed once whatever happens.
"""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from core.models import Member, Workspace

ACTIVE, ENDED = "active", "ended"


class Mixer(Model):
    """A recurring shuffle lunch in one channel."""

    id = fields.IntField(primary_key=True)
    workspace: fields.ForeignKeyRelation[Workspace] = fields.ForeignKeyField(
        "models.Workspace", related_name="mixers", on_delete=fields.CASCADE
    )
    workspace_id: int
    name = fields.CharField(max_length=200)
    # The first round as a local wall-clock time ("YYYY-MM-DDTHH:MM") in ``timezone``, and its RRULE.
    start_local = fields.CharField(max_length=16)
    timezone = fields.CharField(max_length=64)
    rrule = fields.CharField(max_length=500, default="")
    group_size = fields.IntField(default=4)
    place = fields.CharField(max_length=500, default="")
    # How long before a round its groups are formed and announced.
    announce_minutes = fields.IntField(default=24 * 60)
    channel = fields.CharField(max_length=255)
    organiser: fields.ForeignKeyNullableRelation[Member] = fields.ForeignKeyField(
        "models.Member", related_name="organised_mixers", null=True, on_delete=fields.SET_NULL
    )
    organiser_id: int | None
    status = fields.CharField(max_length=16, default=ACTIVE)
    # The next round to form: when (UTC) and which occurrence; NULL when there is none.
    next_round_at = fields.DatetimeField(null=True, db_index=True)
    next_round_occurrence = fields.CharField(max_length=16, null=True)
    schedule_version = fields.IntField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "mixer"
        indexes = (("workspace_id", "status"),)


class MixerParticipant(Model):
    """Someone who joined a mixer: a pause or a skipped round leaves them out for a while."""

    id = fields.IntField(primary_key=True)
    mixer: fields.ForeignKeyRelation[Mixer] = fields.ForeignKeyField(
        "models.Mixer", related_name="participants", on_delete=fields.CASCADE
    )
    mixer_id: int
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "models.Member", related_name="mixer_participations", on_delete=fields.CASCADE
    )
    member_id: int
    # Left out of every round that starts before this local day (inclusive end of the pause).
    paused_until = fields.DateField(null=True)
    # Left out of this one occurrence ("YYYY-MM-DDTHH:MM").
    skip_occurrence = fields.CharField(max_length=16, null=True)
    joined_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "mixer_participant"
        unique_together = (("mixer", "member"),)


class MixerRound(Model):
    """One formed round: the occurrence it is for, and the seed that made its groups."""

    id = fields.IntField(primary_key=True)
    mixer: fields.ForeignKeyRelation[Mixer] = fields.ForeignKeyField(
        "models.Mixer", related_name="rounds", on_delete=fields.CASCADE
    )
    mixer_id: int
    occurrence = fields.CharField(max_length=16)
    starts_at = fields.DatetimeField()
    seed = fields.CharField(max_length=64)
    # Participants left without a group (only ever one person alone in the whole mixer).
    unmatched: list[int] = fields.JSONField(default=list)
    formed_at = fields.DatetimeField(auto_now_add=True)
    # When the day's reminder ("We met" / "We couldn't") is due; NULL once it was queued.
    reminder_at = fields.DatetimeField(null=True, db_index=True)

    class Meta:
        table = "mixer_round"
        unique_together = (("mixer", "occurrence"),)


class MixerGroup(Model):
    """One group of a round."""

    id = fields.IntField(primary_key=True)
    round: fields.ForeignKeyRelation[MixerRound] = fields.ForeignKeyField(
        "models.MixerRound", related_name="groups", on_delete=fields.CASCADE
    )
    round_id: int
    number = fields.IntField()
    # A platform object made for the group (e.g. a Discord thread id).
    external_id = fields.CharField(max_length=64, null=True)

    class Meta:
        table = "mixer_group"
        unique_together = (("round", "number"),)


class MixerGroupMember(Model):
    """Someone in a group, and their answer afterwards: we met (true) or we could not (false)."""

    id = fields.IntField(primary_key=True)
    group: fields.ForeignKeyRelation[MixerGroup] = fields.ForeignKeyField(
        "models.MixerGroup", related_name="members", on_delete=fields.CASCADE
    )
    group_id: int
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "models.Member", related_name="mixer_groups", on_delete=fields.CASCADE
    )
    member_id: int
    met = fields.BooleanField(null=True)
    answered_at = fields.DatetimeField(null=True)

    class Meta:
        table = "mixer_group_member"
        unique_together = (("group", "member"),)
