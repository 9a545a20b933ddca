"""Workspaces, their settings, and admin checks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from core.errors import InvalidSetting, InvalidWorkspaceId
from core.i18n import SUPPORTED_LOCALES, fold
from core.models import Member, Workspace
from core.services.access import require_admin
from core.services.values import seed_default_values
from core.words import SETTING_WORDS, parse_switch

__all__ = ["ensure_workspace", "parse_setting", "require_admin", "settings_view", "update_settings"]

MAX_DAILY_LIMIT = 1000
MAX_CHANNEL_ID = 255
# Discord's text inputs stop at 4000 characters; no platform lets a longer thanks through.
MAX_MESSAGE_LENGTH_LIMIT = 4000
MAX_EXTERNAL_ID = 255  # the column's length
MAX_PRIVACY_THRESHOLD = 100


async def ensure_workspace(platform: str, external_id: str, *, name: str | None = None,
                           default_locale: str | None = None) -> Workspace:
    """The workspace for ``(platform, external_id)``, created with default values on first use.

    A workspace still named by its id (the platform did not say its name before) takes ``name``.
    ``InvalidWorkspaceId`` for an id that is blank or longer than any platform's (255 characters).
    """
    if not external_id.strip() or len(external_id) > MAX_EXTERNAL_ID:
        raise InvalidWorkspaceId(max=MAX_EXTERNAL_ID)
    workspace = await Workspace.get_or_none(platform=platform, external_id=external_id)
    if workspace is not None:
        if name and workspace.name == external_id and name != external_id:
            await Workspace.filter(id=workspace.id, name=external_id).update(name=name)
            workspace.name = name
        return workspace
    try:
        async with in_transaction():
            workspace = await Workspace.create(
                platform=platform, external_id=external_id, name=name or external_id,
                default_locale=default_locale if default_locale in SUPPORTED_LOCALES else "ja",
            )
            await seed_default_values(workspace)
    except IntegrityError:
        # Another request created it first.
        return await Workspace.get(platform=platform, external_id=external_id)
    return workspace


@dataclass(frozen=True)
class SettingSpec:
    """How one workspace setting is parsed from text and checked."""

    field: str
    kind: str  # "locale", "timezone", "bool", "int", "text"
    minimum: int = 0
    maximum: int = 0


SETTINGS: dict[str, SettingSpec] = {
    "locale": SettingSpec("default_locale", "locale"),
    "timezone": SettingSpec("timezone", "timezone"),
    "feed_channel": SettingSpec("feed_channel", "text"),
    "leaderboard": SettingSpec("leaderboard_enabled", "bool"),
    "daily_limit": SettingSpec("daily_limit", "int", 1, MAX_DAILY_LIMIT),
    "max_message_length": SettingSpec("max_message_length", "int", 1, MAX_MESSAGE_LENGTH_LIMIT),
    "value_required": SettingSpec("value_required", "bool"),
    "digest": SettingSpec("digest_schedule", "schedule"),
    "privacy_threshold": SettingSpec("privacy_threshold", "int", 1, MAX_PRIVACY_THRESHOLD),
}


def parse_setting(name: str, raw: Any) -> Any:
    """Turn ``raw`` (text or a typed value) into the stored value of setting ``name``, or raise."""
    spec = SETTINGS.get(name.replace("-", "_"))
    if spec is None:
        raise InvalidSetting(name=name, allowed=", ".join(SETTINGS))
    text = raw.strip() if isinstance(raw, str) else raw
    if spec.kind == "locale":
        if text not in SUPPORTED_LOCALES:
            raise InvalidSetting(name=name, allowed="ja, en")
        return text
    if spec.kind == "timezone":
        try:
            ZoneInfo(str(text))
        except (ZoneInfoNotFoundError, ValueError):
            raise InvalidSetting(name=name, allowed="Asia/Tokyo, Europe/Berlin, …") from None
        return text
    if spec.kind == "bool":
        if isinstance(text, bool):
            return text
        switch = parse_switch(str(text))
        if switch is None:
            raise InvalidSetting(name=name, allowed="on, off")
        return switch
    if spec.kind == "schedule":
        from core.services.digest_schedule import parse_schedule

        return parse_schedule(str(text)).value
    if spec.kind == "int":
        try:
            number = int(text)
        except (TypeError, ValueError):
            number = None
        if number is None or not spec.minimum <= number <= spec.maximum:
            raise InvalidSetting(name=name, allowed=f"{spec.minimum}–{spec.maximum}")
        return number
    # A channel id: no platform's is longer than the column, nor has spaces.
    if text and (not isinstance(text, str) or len(text) > MAX_CHANNEL_ID or any(c.isspace() for c in text)):
        raise InvalidSetting(name=name, allowed="a channel id")
    return text or None


async def update_settings(workspace: Workspace, actor: Member, **changes: Any) -> Workspace:
    """Change workspace settings (admins only); every change is checked before any is saved."""
    require_admin(actor)
    checked = {n: parse_setting(n, v) for n, v in changes.items()}
    parsed = {SETTINGS[n.replace("-", "_")].field: v for n, v in checked.items()}
    for field_name, value in parsed.items():
        setattr(workspace, field_name, value)
    if "digest_schedule" in parsed or "timezone" in parsed:
        # The digest and recap moments are local wall-clock times under the schedule: plan them again.
        from core.services.digest_schedule import plan_digest, replan_recap

        plan_digest(workspace)
        parsed["next_digest_at"] = workspace.next_digest_at
        if replan_recap(workspace):
            parsed["next_recap_at"] = workspace.next_recap_at
    if parsed:
        await workspace.save(update_fields=list(parsed))
    return workspace


def settings_view(workspace: Workspace) -> dict[str, Any]:
    """The settings as ``{public name: value}``."""
    return {name: getattr(workspace, spec.field) for name, spec in SETTINGS.items()}


def setting_name(name: str) -> str:
    """The setting ``name`` names, in either language (``言語``, ``daily-limit``…); refused if none."""
    key = SETTING_WORDS.get(fold(name)) or fold(name).replace("-", "_")
    if key not in SETTINGS:
        raise InvalidSetting(name=name[:40], allowed=", ".join(SETTINGS))
    return key
