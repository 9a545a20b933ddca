"""``/mixer`` on Discord (``/ミキサー``): create, list, show, join, leave, pause, skip, end, invite.

Only translation: options → ``core.app.mixer_commands`` → ``execute`` → the outcome's message.
"""

from __future__ import annotations

from typing import Any, cast

from adapters.discord import wire
from adapters.discord.rest import RestClient
from adapters.discord.routing import (
    PLATFORM,
    Request,
    Route,
    Turn,
    private,
    text,
    thanks_modal,
    values_for_form,
)
from adapters.discord.wire import InteractionResponse
from core.app import commands as c
from core.app import mixer_commands as m
from core.app import outcomes as o
from core.i18n import translate
from core.mixers import service
from core.mixers.errors import MixerChannelUnreachable
from core.models import Workspace

# The generic "Send thanks" form (``handlers.THANKS_FORM``): its submit is a thanks like any other.
THANKS_FORM = "kizuna:thanksform:"


def _required(request: Request, name: str) -> str:
    return text(request.options, name) or ""


# What a mixer needs in its channel: the summary, and a private thread per group with messages in it.
MIXER_CHANNEL_PERMISSIONS = {
    "View Channel": wire.VIEW_CHANNEL, "Send Messages": wire.SEND_MESSAGES,
    "Create Private Threads": wire.CREATE_PRIVATE_THREADS, "Send Messages in Threads": wire.SEND_MESSAGES_IN_THREADS,
}


def _create(request: Request) -> c.Command:
    # Discord says in every interaction what the bot may do in this channel (``app_permissions``).
    granted = str(request.interaction.get("app_permissions") or "")
    if granted.isdigit():
        missing = [name for name, bit in MIXER_CHANNEL_PERMISSIONS.items() if not int(granted) & bit]
        if missing:
            raise MixerChannelUnreachable(missing=", ".join(missing))
    size = request.options.get("size")
    return m.CreateMixer(_required(request, "name"), _required(request, "start"), text(request.options, "repeat"),
                         str(size) if size is not None else None, text(request.options, "place") or "",
                         text(request.options, "announce"), text(request.options, "timezone"))


def _by_id(kind: Any) -> Any:
    return lambda request: kind(_required(request, "mixer"))


# The "We met" / "We couldn't" buttons of a group's day message (answered only to the presser).
async def _group_thanks_form(turn: Turn, outcome: o.Outcome) -> InteractionResponse:
    """A modal to thank one's mixer group: the user select prefilled with the others (the generic thanks form)."""
    listed = cast(m.MixerGroupListed, outcome)
    others = tuple(p.platform_user_id for p in listed.people
                   if p.id != turn.context.actor.id and p.platform_user_id.isdigit())
    return thanks_modal(turn, custom_id=THANKS_FORM, people=others, values=await values_for_form(turn),
                        message=translate(turn.locale, "mixer.thanks_default", name=listed.mixer_name),
                        title=translate(turn.locale, "mixer.thank_button"))


MIXER_ACTIONS: dict[str, Route] = {
    "mixer_met": Route(lambda r: m.AnswerMixerRound(str(r.options.get("round_id", "")),
                                                    str(r.options.get("answer", ""))), private),
    "thank_group": Route(lambda r: m.ListMixerGroup(str(r.options.get("round_id", ""))), _group_thanks_form),
}

MIXER_ROUTES: dict[str, Route] = {
    "create": Route(_create),
    "list": Route(lambda r: m.ListMixers()),
    "show": Route(_by_id(m.ShowMixer), private),
    "join": Route(_by_id(m.JoinMixer), private),
    "leave": Route(_by_id(m.LeaveMixer), private),
    "pause": Route(lambda r: m.PauseMixer(_required(r, "mixer"), _required(r, "until")), private),
    "skip": Route(_by_id(m.SkipMixerRound), private),
    "end": Route(_by_id(m.EndMixer)),
    "invite": Route(lambda r: m.InviteDepartment(_required(r, "mixer"), _required(r, "department")), private),
}


# ---- a group's private thread ------------------------------------------------------------------

THREAD_ARCHIVE_MINUTES = 10080  # a week: the thread stays open until the lunch is long over


async def deliver_group(rest: RestClient, workspace_external_id: str, target: str, payload: dict[str, Any],
                        nonce: str | None) -> None:
    """A group's announcement: a private thread in the mixer's channel (made once, even when the
    delivery is retried), its members added, and the opening message posted in it.

    Discord: ``POST /channels/{id}/threads`` without a message, ``type`` 12 (private thread),
    ``invitable`` false; ``PUT /channels/{thread}/thread-members/{user}`` per member (204, and
    adding someone already there changes nothing).
    """
    round_id, _, number = target.partition(":")
    if not round_id.isdigit() or not number.isdigit():
        raise ValueError(f"not a mixer group: {target!r}")
    workspace = await Workspace.get_or_none(platform=PLATFORM, external_id=workspace_external_id)
    if workspace is None:
        raise ValueError("the workspace is gone")
    view = await service.load_round(workspace, int(round_id))
    group = next((g for g in view.groups if g.number == int(number)), None)
    if group is None:
        raise ValueError(f"round {round_id} has no group {number}")
    thread = await service.group_space(view.id, group.number)
    if thread is None:
        name = f"{view.mixer_name} · {group.number}"[:100]
        made = await rest.request("POST", "/channels/{channel_id}/threads", {"channel_id": view.channel}, payload={
            "name": name, "type": wire.GUILD_PRIVATE_THREAD, "invitable": False,
            "auto_archive_duration": THREAD_ARCHIVE_MINUTES})
        thread = str(made["id"])
        await service.set_group_space(view.id, group.number, thread)
    for user_id in group.platform_user_ids:
        await rest.request("PUT", "/channels/{channel_id}/thread-members/{user_id}",
                           {"channel_id": thread, "user_id": user_id})
    await rest.create_message(thread, payload, nonce=nonce)
