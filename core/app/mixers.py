"""The handlers of the mixer commands (registered with ``@handles``; imported by ``core.app.execute``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.app import mixer_commands as m
from core.app.execute import Context, handles
from core.app.outcomes import Outcome
from core.mixers import service
from core.models import Workspace


@handles(m.CreateMixer)
async def _create(context: Context, command: m.CreateMixer) -> Outcome:
    view = await service.create_mixer(
        context.workspace, context.actor, name=command.name, start=command.start, channel=context.channel,
        timezone=command.timezone, repeat=command.repeat, group_size=command.size, place=command.place,
        announce=command.announce, now=context.now)
    return m.MixerShown(view, "created")


@handles(m.ListMixers)
async def _list(context: Context, command: m.ListMixers) -> Outcome:
    return m.MixersListed(tuple(await service.list_mixers(context.workspace, context.actor)))


@handles(m.ShowMixer)
async def _show(context: Context, command: m.ShowMixer) -> Outcome:
    return m.MixerShown(await service.get_mixer(context.workspace, command.mixer, context.actor), "shown")


@handles(m.JoinMixer)
async def _join(context: Context, command: m.JoinMixer) -> Outcome:
    return m.MixerShown(await service.join_mixer(context.workspace, context.actor, command.mixer), "joined")


@handles(m.LeaveMixer)
async def _leave(context: Context, command: m.LeaveMixer) -> Outcome:
    return m.MixerShown(await service.leave_mixer(context.workspace, context.actor, command.mixer), "left")


@handles(m.PauseMixer)
async def _pause(context: Context, command: m.PauseMixer) -> Outcome:
    view = await service.pause_mixer(context.workspace, context.actor, command.mixer, command.until, now=context.now)
    return m.MixerShown(view, "paused")


@handles(m.SkipMixerRound)
async def _skip(context: Context, command: m.SkipMixerRound) -> Outcome:
    return m.MixerShown(await service.skip_next_round(context.workspace, context.actor, command.mixer), "skipping")


@handles(m.EndMixer)
async def _end(context: Context, command: m.EndMixer) -> Outcome:
    return m.MixerShown(await service.end_mixer(context.workspace, context.actor, command.mixer), "ended")


@handles(m.InviteDepartment)
async def _invite(context: Context, command: m.InviteDepartment) -> Outcome:
    view, invited = await service.invite_department(context.workspace, command.mixer, command.department)
    return m.DepartmentInvited(view, command.department, invited)


@handles(m.AnswerMixerRound)
async def _answer(context: Context, command: m.AnswerMixerRound) -> Outcome:
    met = service.parse_met(command.answer)
    view = await service.answer_met(context.workspace, context.actor, command.round, met)
    group = next((g for g in view.groups if context.actor.id in g.member_ids), None)
    others = tuple(name for member_id, name in zip(group.member_ids, group.names, strict=True)
                   if member_id != context.actor.id) if group else ()
    return m.MixerAnswered(view, met, others)


@handles(m.ListMixerGroup)
async def _group(context: Context, command: m.ListMixerGroup) -> Outcome:
    view, people = await service.my_group(context.workspace, context.actor, command.round)
    return m.MixerGroupListed(view.id, view.mixer_name, tuple(people))


async def load_mixer_delivery(workspace: Workspace, payload: Mapping[str, Any]) -> Outcome:
    """The outcome of a mixer outbox row (a round's announcement, an invitation)."""
    if payload.get("type") == "mixer_invite":
        return m.MixerInvitation(await service.get_mixer(workspace, int(payload["mixer_id"])))
    group = payload.get("group")
    if payload.get("type") == "mixer_day":
        return m.MixerDayReminder(await service.load_round(workspace, int(payload["round_id"])),
                                  int(group) if group is not None else None)
    return m.MixerRoundAnnounced(await service.load_round(workspace, int(payload["round_id"])),
                                 int(group) if group is not None else None)
