"""Mixer messages: confirmations, the list, a round's announcement and an invitation (pure)."""

from __future__ import annotations

from datetime import datetime

from cards.model import Action, Message, NoticeMessage
from cards.outcomes import TEXT_SURFACES, Audience, renders
from core.app import mixer_commands as m
from core.i18n import format_datetime, format_duration, translate
from core.meetings.recurrence import LOCAL_FORMAT, zone
from core.mixers.service import MixerView, RoundView

STARTERS = 4  # mixer.starter.1 … mixer.starter.4


def _when(view: MixerView, lang: str) -> str:
    if view.next_round_starts_at is None:
        return translate(lang, "mixer.no_next")
    return format_datetime(view.next_round_starts_at, lang, view.timezone)


def _line(view: MixerView, lang: str) -> str:
    lines = [translate(lang, "mixer.line", id=view.id, name=view.name, size=view.group_size,
                       participants=view.participants, next=_when(view, lang))]
    if view.place:
        lines.append("   " + translate(lang, "mixer.place", place=view.place))
    if view.joined:
        lines.append("   " + translate(lang, "mixer.you_joined"))
    if view.paused_until is not None:
        lines.append("   " + translate(lang, "mixer.you_paused", date=view.paused_until.isoformat()))
    if view.skipping is not None and view.skipping == view.next_round:
        lines.append("   " + translate(lang, "mixer.you_skip"))
    return "\n".join(lines)


@renders(m.MixerShown)
def _shown(outcome: m.MixerShown, audience: Audience) -> Message:
    lang = audience.lang
    view = outcome.view
    text = _line(view, lang)
    if outcome.event == "created":
        announce = format_duration(view.announce_minutes, lang)
        text += "\n   " + translate(lang, "mixer.announce", before=announce, channel=view.channel)
    return NoticeMessage(lang, text, translate(lang, f"mixer.{outcome.event}", name=view.name, id=view.id))


@renders(m.MixersListed)
def _listed(outcome: m.MixersListed, audience: Audience) -> Message:
    lang = audience.lang
    title = translate(lang, "mixer.list_title")
    if not outcome.views:
        return NoticeMessage(lang, translate(lang, "mixer.list_empty"), title)
    return NoticeMessage(lang, "\n".join(_line(v, lang) for v in outcome.views), title)


@renders(m.DepartmentInvited)
def _invited(outcome: m.DepartmentInvited, audience: Audience) -> Message:
    lang = audience.lang
    return NoticeMessage(lang, translate(lang, "mixer.invited", count=outcome.invited,
                                         department=outcome.department, name=outcome.view.name))


@renders(m.MixerInvitation)
def _invitation(outcome: m.MixerInvitation, audience: Audience) -> Message:
    lang = audience.lang
    view = outcome.view
    return NoticeMessage(lang, translate(lang, "mixer.invitation", name=view.name, id=view.id,
                                         next=_when(view, lang)), view.name)


def _suggested(round_: RoundView, lang: str) -> str:
    local = datetime.strptime(round_.occurrence, LOCAL_FORMAT).replace(tzinfo=zone(round_.timezone))
    return format_datetime(local, lang, round_.timezone)


@renders(m.MixerRoundAnnounced)
def _announced(outcome: m.MixerRoundAnnounced, audience: Audience) -> Message:
    """The channel's summary (every group by name, nobody pinged), or one member's own group."""
    lang = audience.lang
    round_ = outcome.round
    when = _suggested(round_, lang)
    title = translate(lang, "mixer.round_title", name=round_.mixer_name)
    if outcome.group is not None:
        group = next((g for g in round_.groups if g.number == outcome.group), None)
        names = "、".join(group.names) if group and lang == "ja" else ", ".join(group.names if group else ())
        starter = translate(lang, f"mixer.starter.{(outcome.group - 1) % STARTERS + 1}")
        text = translate(lang, "mixer.your_group", when=when, names=names, starter=starter)
        if round_.place:
            text += "\n" + translate(lang, "mixer.place", place=round_.place)
        if group is None:
            return NoticeMessage(lang, text, title)
        return NoticeMessage(lang, text, title, chat_with=group.platform_user_ids, chat_in=round_.channel,
                             chat_topic=f"{round_.mixer_name} · {group.number}"[:100],
                             chat_label=translate(lang, "mixer.start_chat"))
    lines = [translate(lang, "mixer.round_intro", when=when)]
    if round_.place:
        lines.append(translate(lang, "mixer.place", place=round_.place))
    separator = "、" if lang == "ja" else ", "
    lines += [translate(lang, "mixer.round_group", number=g.number, names=separator.join(g.names))
              for g in round_.groups]
    if round_.unmatched:
        lines.append(translate(lang, "mixer.round_unmatched", names=separator.join(round_.unmatched)))
    if not round_.groups:
        lines.append(translate(lang, "mixer.round_empty"))
    return NoticeMessage(lang, "\n".join(lines), title)


def _met_actions(round_id: int, lang: str) -> tuple[Action, ...]:
    return tuple(Action("mixer_met", translate(lang, f"mixer.met.button.{answer}"),
                        {"round_id": str(round_id), "answer": answer}) for answer in ("yes", "no"))


@renders(m.MixerDayReminder)
def _day(outcome: m.MixerDayReminder, audience: Audience) -> Message:
    """The day of the round: who, when, and the "We met" / "We couldn't" buttons (text: the command)."""
    lang = audience.lang
    round_ = outcome.round
    when = _suggested(round_, lang)
    title = translate(lang, "mixer.day_title", name=round_.mixer_name)
    separator = "、" if lang == "ja" else ", "
    if outcome.group is None:
        lines = [translate(lang, "mixer.day_intro", when=when)]
        lines += [translate(lang, "mixer.round_group", number=g.number, names=separator.join(g.names))
                  for g in round_.groups]
        lines.append(translate(lang, "mixer.met.hint", round=round_.id))
        return NoticeMessage(lang, "\n".join(lines), title)
    group = next((g for g in round_.groups if g.number == outcome.group), None)
    names = separator.join(group.names) if group else ""
    text = translate(lang, "mixer.day_group", when=when, names=names)
    if audience.platform in TEXT_SURFACES:
        text += "\n" + translate(lang, "mixer.met.hint", round=round_.id)
    return NoticeMessage(lang, text, title, actions=_met_actions(round_.id, lang))


@renders(m.MixerAnswered)
def _answered(outcome: m.MixerAnswered, audience: Audience) -> Message:
    """The answer recorded; after "We met", a nudge to thank the group."""
    lang = audience.lang
    if not outcome.met:
        return NoticeMessage(lang, translate(lang, "mixer.met.no"))
    text = translate(lang, "mixer.met.yes")
    if outcome.others:
        separator = "、" if lang == "ja" else ", "
        mentions = " ".join(f"@{name}" for name in outcome.others)
        text += "\n" + translate(lang, "mixer.thank_them", names=separator.join(outcome.others), mentions=mentions)
        thank = Action("thank_group", translate(lang, "mixer.thank_button"), {"round_id": str(outcome.round.id)})
        return NoticeMessage(lang, text, actions=(thank,))
    return NoticeMessage(lang, text)
