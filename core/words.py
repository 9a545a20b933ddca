"""Bilingual words that services and the text grammar share: on/off, and the names of settings."""

from __future__ import annotations

from core.i18n import fold

_SWITCH_ON = {"on", "yes", "true", "1", "enable", "enabled", "オン", "有効", "はい", "する"}
_SWITCH_OFF = {"off", "no", "false", "0", "disable", "disabled", "オフ", "無効", "いいえ", "しない"}


def parse_switch(text: str) -> bool | None:
    """``on``/``off`` in either language (``オン``, ``はい``, ``ＯＦＦ``…); None for anything else."""
    word = fold(text)
    if word in _SWITCH_ON:
        return True
    if word in _SWITCH_OFF:
        return False
    return None


# The names of the settings in both languages → ``core.services.workspaces.SETTINGS``.
SETTING_WORDS = {
    "locale": "locale", "language": "locale", "lang": "locale", "言語": "locale",
    "timezone": "timezone", "tz": "timezone", "time-zone": "timezone", "タイムゾーン": "timezone",
    "feed": "feed_channel", "feed_channel": "feed_channel", "feed-channel": "feed_channel",
    "フィード": "feed_channel",
    "leaderboard": "leaderboard", "ranking": "leaderboard", "ランキング": "leaderboard",
    "daily_limit": "daily_limit", "daily-limit": "daily_limit", "limit": "daily_limit", "上限": "daily_limit",
    "1日の上限": "daily_limit",
    "max_message_length": "max_message_length", "max-message-length": "max_message_length",
    "length": "max_message_length", "message-length": "max_message_length", "文字数": "max_message_length",
    "value_required": "value_required", "value-required": "value_required", "require-value": "value_required",
    "require_value": "value_required", "バリュー必須": "value_required",
    "digest": "digest", "ダイジェスト": "digest",
    "privacy_threshold": "privacy_threshold", "privacy-threshold": "privacy_threshold", "privacy": "privacy_threshold",
    "プライバシー": "privacy_threshold",
}
