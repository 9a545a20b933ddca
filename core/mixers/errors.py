"""Typed, user-presentable errors of mixers."""

from __future__ import annotations

from core.errors import KizunaError


class MixerNotFound(KizunaError):
    message_id = "error.mixer_not_found"


class InvalidMixerName(KizunaError):
    message_id = "error.mixer_name"


class InvalidGroupSize(KizunaError):
    message_id = "error.mixer_group_size"


class InvalidAnnounce(KizunaError):
    message_id = "error.mixer_announce"


class MixerChannelRequired(KizunaError):
    message_id = "error.mixer_channel"


class MixerChannelUnreachable(KizunaError):
    message_id = "error.mixer_channel_unreachable"


class MixerHasNoFutureRound(KizunaError):
    message_id = "error.mixer_no_future_round"


class AlreadyJoined(KizunaError):
    message_id = "error.mixer_already_joined"


class NotJoined(KizunaError):
    message_id = "error.mixer_not_joined"


class PauseInThePast(KizunaError):
    message_id = "error.mixer_pause_past"


class InvalidPauseDate(KizunaError):
    message_id = "error.mixer_pause_date"


class NotMixerOrganiser(KizunaError):
    message_id = "error.mixer_not_organiser"


class InvalidMetAnswer(KizunaError):
    message_id = "error.mixer_met_answer"


class NotInRound(KizunaError):
    message_id = "error.mixer_not_in_round"


class MixerEnded(KizunaError):
    message_id = "error.mixer_ended"
