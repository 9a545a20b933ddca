"""The platform-neutral message model: what each Kizuna message says, localised, before any rendering."""

from cards.model import (
    Action,
    DigestMessage,
    DigestSection,
    ErrorMessage,
    HelpMessage,
    LeaderboardMessage,
    LeaderboardRow,
    Message,
    NoticeMessage,
    Person,
    ReminderMessage,
    ThanksMessage,
    ValueBadge,
    ValuesMessage,
    message_from_dict,
    message_to_dict,
)

__all__ = [
    "Action",
    "DigestMessage",
    "DigestSection",
    "ErrorMessage",
    "HelpMessage",
    "LeaderboardMessage",
    "LeaderboardRow",
    "Message",
    "NoticeMessage",
    "Person",
    "ReminderMessage",
    "ThanksMessage",
    "ValueBadge",
    "ValuesMessage",
    "message_from_dict",
    "message_to_dict",
]
