"""Typed, user-presentable errors of meetings and RSVPs."""

from __future__ import annotations

from core.errors import KizunaError


class MeetingNotFound(KizunaError):
    message_id = "error.meeting_not_found"


class NotMeetingOrganiser(KizunaError):
    message_id = "error.meeting_not_organiser"


class InvalidMeetingTitle(KizunaError):
    message_id = "error.meeting_title"


class InvalidMeetingStart(KizunaError):
    message_id = "error.meeting_start"


class InvalidTimezone(KizunaError):
    message_id = "error.meeting_timezone"


class InvalidRepeat(KizunaError):
    message_id = "error.meeting_repeat"


class InvalidReminderOffsets(KizunaError):
    message_id = "error.meeting_remind"


class InvalidDuration(KizunaError):
    message_id = "error.meeting_duration"


class MeetingChannelRequired(KizunaError):
    message_id = "error.meeting_channel"


class UnknownOccurrence(KizunaError):
    message_id = "error.meeting_occurrence"


class OccurrenceSkipped(KizunaError):
    message_id = "error.meeting_occurrence_skipped"


class MeetingEnded(KizunaError):
    message_id = "error.meeting_ended"


class InvalidRsvpAnswer(KizunaError):
    message_id = "error.meeting_rsvp_answer"


class InvalidMeetingCommand(KizunaError):
    message_id = "error.meeting_command"


class UnreadableDuration(KizunaError):
    message_id = "error.meeting_duration_unreadable"


class InvalidThanksPrompt(KizunaError):
    message_id = "error.meeting_thanks_prompt"
