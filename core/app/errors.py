"""Errors of the text grammar: a word Kizuna does not know, or a command used the wrong way."""

from __future__ import annotations

from core.errors import KizunaError
from core.i18n import translate


class UnknownCommand(KizunaError):
    """No command starts with this word."""

    message_id = "error.unknown_command"


class UsageError(KizunaError):
    """A known command with missing or wrong arguments; the message shows how to use it, in the
    reader's language (``phrase`` is the grammar key of the command, e.g. ``meeting.skip``)."""

    message_id = "error.usage"

    def __init__(self, phrase: str) -> None:
        self.phrase = phrase
        super().__init__()

    def localized(self, locale: str) -> str:
        from core.app.grammar import usage  # the grammar knows every command's words

        return translate(locale, self.message_id, usage=usage(self.phrase, locale))
