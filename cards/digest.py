"""The digest and the personal recap as neutral messages in the reader's language (and as plain text,
what `kizuna digest preview` prints). Names are plain text: a digest mentions nobody."""

from __future__ import annotations

from cards.model import DigestMeeting, DigestMessage, DigestSection, Message, NoticeMessage, utc_instant
from cards.outcomes import Audience, renders
from cards.text import render_text
from core.app.digest import DigestScheduleChanged, DigestShown, RecapChanged, RecapShown
from core.i18n import format_date, format_datetime, normalize_locale, translate
from core.services.digest import QUIET_WEEKS, DepartmentPair, Digest, Island
from core.services.recap import Recap

DASHBOARD_PATH = "/dashboard"


def _pairs(pairs: tuple[DepartmentPair, ...] | tuple[Island, ...]) -> tuple[str, ...]:
    return tuple(f"{p.first} ⇄ {p.second}" for p in pairs)


def _islands(digest: Digest, lang: str) -> DigestSection:
    """The island nudge: each pair, and its next shared meeting when one is scheduled (in the meeting's own
    zone, named, and as an instant for surfaces that show it in the reader's zone)."""
    meetings = tuple(
        DigestMeeting(i, translate(lang, "digest.next_meeting", title=island.next_meeting.title),
                      translate(lang, "digest.meeting_when", time=format_datetime(
                          island.next_meeting.starts_at, lang, island.next_meeting.timezone),
                          timezone=island.next_meeting.timezone),
                      utc_instant(island.next_meeting.starts_at))
        for i, island in enumerate(digest.islands) if island.next_meeting is not None)
    return DigestSection(translate(lang, "digest.islands", count=QUIET_WEEKS), _pairs(digest.islands), meetings)


def dashboard_url(public_url: str) -> str:
    """The dashboard's address under Kizuna's public URL ("" when that is not known)."""
    return f"{public_url.rstrip('/')}{DASHBOARD_PATH}" if public_url else ""


def _activity(lang: str, thanks: int, people: int) -> tuple[str, str]:
    return (translate(lang, "digest.count.thanks", count=thanks), translate(lang, "digest.count.people", count=people))


def _cross(digest: Digest, lang: str) -> str:
    share = f"{digest.cross_share:.0%}"
    if not digest.previous_thanks:
        # Nothing to compare with: a change from an empty period says nothing.
        return translate(lang, "digest.cross_first", share=share)
    change = round(digest.cross_share * 100) - round(digest.previous_cross_share * 100)
    if not change:
        return translate(lang, "digest.cross_same", share=share)
    return translate(lang, "digest.cross", share=share, change=f"{change:+d}")


def digest_message(digest: Digest, locale: str, tz_name: str, *, late: bool = False,
                   public_url: str = "") -> DigestMessage:
    """The digest of one period, as posted to the feed channel; with ``public_url``, a line to the dashboard."""
    lang = normalize_locale(locale) or "ja"
    title = translate(lang, f"digest.title.{digest.period.value}",
                      first=format_date(digest.first_day(tz_name), lang),
                      last=format_date(digest.last_day(tz_name), lang))
    thanks, people = _activity(lang, digest.thanks, digest.people)
    before_thanks, before_people = _activity(lang, digest.previous_thanks, digest.previous_people)
    summary = [translate(lang, "digest.activity", thanks=thanks, people=people, previous_thanks=before_thanks,
                         previous_people=before_people)]
    summary.append(_cross(digest, lang) if digest.thanks else translate(lang, "digest.empty"))
    # Each mixer's last round of the period (shuffle lunch), one line each.
    summary += [translate(lang, "digest.mixer", name=m.name, people=m.people, groups=m.groups,
                          pairs=m.department_pairs, met=m.met, answered=m.answered) for m in digest.mixer_rounds]
    sections: list[DigestSection] = []
    if digest.new_bridges:
        sections.append(DigestSection(translate(lang, "digest.bridges"), _pairs(digest.new_bridges)))
    if digest.top_values:
        sections.append(DigestSection(translate(lang, "digest.values"), tuple(
            translate(lang, "digest.value_line", emoji=v.emoji, name=v.name_ja if lang == "ja" else v.name_en,
                      thanks=translate(lang, "digest.count.thanks", count=v.count)).strip()
            for v in digest.top_values)))
    if digest.most_clapped:
        sections.append(DigestSection(translate(lang, "digest.clapped"), tuple(
            translate(lang, "digest.clapped_line", sender=t.sender, recipients=", ".join(t.recipients),
                      excerpt=t.excerpt, claps=t.claps)
            + (translate(lang, "digest.in_project", project=t.project) if t.project else "")
            for t in digest.most_clapped)))
    projects = [translate(lang, "digest.project_started", name=name) for name in digest.projects_started]
    projects += [translate(lang, "digest.project_closed", name=name) for name in digest.projects_closed]
    if projects:
        sections.append(DigestSection(translate(lang, "digest.projects"), tuple(projects)))
    if digest.islands:
        sections.append(_islands(digest, lang))
    note = translate(lang, "digest.late") if late else ""
    link = dashboard_url(public_url)
    return DigestMessage(lang, title, tuple(summary), tuple(sections), note, link=link,
                         link_label=translate(lang, "digest.dashboard") if link else "")


def digest_text(digest: Digest, locale: str, tz_name: str, *, public_url: str = "") -> str:
    """The digest as lines of text; names are plain text, so nobody is notified."""
    return render_text(digest_message(digest, locale, tz_name, public_url=public_url))


def recap_message(recap: Recap, locale: str, tz_name: str, *, late: bool = False,
                  public_url: str = "") -> DigestMessage:
    """A member's month in thanks, sent to them privately; with ``public_url``, a line to the dashboard, where
    they see their own figures."""
    lang = normalize_locale(locale) or "ja"
    title = translate(lang, "recap.title", first=format_date(recap.first_day(tz_name), lang),
                      last=format_date(recap.last_day(tz_name), lang))
    summary = [translate(lang, "recap.sent", count=recap.sent), translate(lang, "recap.received", count=recap.received)]
    if not recap.sent and not recap.received:
        summary.append(translate(lang, "recap.none"))
    sections = (DigestSection(translate(lang, "recap.departments", count=len(recap.departments)), recap.departments),) \
        if recap.departments else ()
    note = translate(lang, "digest.late") if late else ""
    link = dashboard_url(public_url)
    return DigestMessage(lang, title, tuple(summary), sections, note, link=link,
                         link_label=translate(lang, "digest.dashboard") if link else "")


@renders(DigestShown)
def _digest(outcome: DigestShown, audience: Audience) -> Message:
    return digest_message(outcome.digest, audience.lang, outcome.timezone, late=outcome.late,
                          public_url=audience.public_url)


@renders(RecapShown)
def _recap(outcome: RecapShown, audience: Audience) -> Message:
    return recap_message(outcome.recap, audience.lang, outcome.timezone, late=outcome.late,
                         public_url=audience.public_url)


@renders(DigestScheduleChanged)
def _schedule(outcome: DigestScheduleChanged, audience: Audience) -> Message:
    lang = audience.lang
    if outcome.next_at is None:
        return NoticeMessage(lang, translate(lang, "notice.digest_off"))
    lines = [translate(lang, f"notice.digest_{outcome.schedule}",
                       next=format_datetime(outcome.next_at, lang, outcome.timezone))]
    if not outcome.feed_channel:
        lines.append(translate(lang, "notice.digest_no_feed"))
    return NoticeMessage(lang, "\n".join(lines))


@renders(RecapChanged)
def _recap_changed(outcome: RecapChanged, audience: Audience) -> Message:
    return NoticeMessage(audience.lang, translate(audience.lang, "notice.recap_on" if outcome.enabled
                                                  else "notice.recap_off"))
