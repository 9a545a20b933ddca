"""The digest as plain text in the workspace's language (what `kizuna digest preview` prints)."""

from __future__ import annotations

from core.i18n import format_date, normalize_locale, translate
from core.services.digest import QUIET_WEEKS, DepartmentPair, Digest


def _pairs(pairs: tuple[DepartmentPair, ...]) -> str:
    return ", ".join(f"{p.first} ⇄ {p.second}" for p in pairs)


def digest_text(digest: Digest, locale: str, tz_name: str) -> str:
    """The digest as lines of text; names are plain text, so nobody is notified."""
    lang = normalize_locale(locale) or "ja"
    lines = [translate(lang, f"digest.title.{digest.period.value}",
                       first=format_date(digest.first_day(tz_name), lang),
                       last=format_date(digest.last_day(tz_name), lang))]
    lines.append(translate(lang, "digest.activity", thanks=str(digest.thanks), people=str(digest.people),
                           previous_thanks=str(digest.previous_thanks),
                           previous_people=str(digest.previous_people)))
    if not digest.thanks:
        lines.append(translate(lang, "digest.empty"))
    else:
        change = round(digest.cross_share * 100) - round(digest.previous_cross_share * 100)
        lines.append(translate(lang, "digest.cross", share=f"{digest.cross_share:.0%}", change=f"{change:+d}"))
    if digest.new_bridges:
        lines.append(translate(lang, "digest.bridges", pairs=_pairs(digest.new_bridges)))
    if digest.top_values:
        names = ", ".join(f"{v.emoji} {v.name_ja if lang == 'ja' else v.name_en} ({v.count})".strip()
                          for v in digest.top_values)
        lines.append(translate(lang, "digest.values", values=names))
    if digest.most_clapped:
        lines.append(translate(lang, "digest.clapped"))
        for t in digest.most_clapped:
            lines.append("・" + translate(lang, "digest.clapped_line", sender=t.sender,
                                          recipients=", ".join(t.recipients), excerpt=t.excerpt,
                                          claps=str(t.claps)))
    if digest.islands:
        lines.append(translate(lang, "digest.islands", weeks=str(QUIET_WEEKS), pairs=_pairs(digest.islands)))
    for mixer in digest.mixer_rounds:
        lines.append(translate(lang, "digest.mixer", name=mixer.name, people=str(mixer.people),
                               groups=str(mixer.groups), pairs=str(mixer.department_pairs), met=str(mixer.met),
                               answered=str(mixer.answered)))
    return "\n".join(lines)
