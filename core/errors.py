"""Typed, user-presentable errors: each one knows its localised message."""

from __future__ import annotations

from typing import Any, ClassVar

from core.i18n import translate


class KizunaError(Exception):
    """A rule was broken; ``localized(locale)`` is the polite message for the user."""

    message_id: ClassVar[str] = "error.generic"
    # The parameter a message with plural forms agrees with ("1 thank-you", "2 thanks"), if not ``count``.
    count_param: ClassVar[str | None] = None

    def __init__(self, **params: Any) -> None:
        self.params = params
        super().__init__(self.localized("en"))

    def localized(self, locale: str) -> str:
        """The message in ``locale`` (``ja`` or ``en``)."""
        params = self.params if self.count_param is None else {"count": self.params[self.count_param],
                                                               **self.params}
        return translate(locale, self.message_id, **params)


class NoRecipients(KizunaError):
    message_id = "error.no_recipients"


class TooManyRecipients(KizunaError):
    message_id = "error.too_many_recipients"


class SelfThanksNotAllowed(KizunaError):
    message_id = "error.self_thanks"


class BotThanksNotAllowed(KizunaError):
    message_id = "error.bot_thanks"


class EmptyMessage(KizunaError):
    message_id = "error.empty_message"


class MessageTooLong(KizunaError):
    message_id = "error.message_too_long"


class UnknownValue(KizunaError):
    message_id = "error.unknown_value"


class TooManyValues(KizunaError):
    message_id = "error.too_many_values"


class ValueRequired(KizunaError):
    message_id = "error.value_required"


class DailyLimitReached(KizunaError):
    message_id = "error.daily_limit"
    count_param = "limit"


class ClapOwnThanks(KizunaError):
    message_id = "error.clap_own"


class ThanksNotFound(KizunaError):
    message_id = "error.thanks_not_found"


class NotAnAdmin(KizunaError):
    message_id = "error.not_admin"


class LeaderboardDisabled(KizunaError):
    message_id = "error.leaderboard_disabled"


class ValueKeyTaken(KizunaError):
    message_id = "error.value_key_taken"


class InvalidValueDefinition(KizunaError):
    message_id = "error.invalid_value"


class UnknownDepartment(KizunaError):
    message_id = "error.unknown_department"


class InvalidDepartmentName(KizunaError):
    message_id = "error.invalid_department"


class InvalidSetting(KizunaError):
    message_id = "error.invalid_setting"


class ImportRowError(KizunaError):
    message_id = "error.import_row"


class UnknownMember(KizunaError):
    message_id = "error.unknown_member"


class DepartmentNameTaken(KizunaError):
    message_id = "error.department_name_taken"


class DepartmentMergedIntoItself(KizunaError):
    message_id = "error.department_merge_self"


class CannotRevokeLastAdmin(KizunaError):
    message_id = "error.last_admin"


class NameTooLong(KizunaError):
    message_id = "error.name_too_long"


class ValueNameTaken(KizunaError):
    message_id = "error.value_name_taken"


class NotAnEmoji(KizunaError):
    message_id = "error.not_an_emoji"


class InvalidWorkspaceId(KizunaError):
    message_id = "error.invalid_workspace_id"
