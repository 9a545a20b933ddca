"""Typed, user-presentable errors of projects."""

from __future__ import annotations

from core.errors import KizunaError


class UnknownProject(KizunaError):
    message_id = "error.project_unknown"


class ProjectKeyTaken(KizunaError):
    message_id = "error.project_key_taken"


class InvalidProjectKey(KizunaError):
    message_id = "error.project_key"


class InvalidProjectName(KizunaError):
    message_id = "error.project_name"


class InvalidProjectDates(KizunaError):
    message_id = "error.project_dates"


class ProjectClosed(KizunaError):
    message_id = "error.project_closed"


class ProjectAlreadyOpen(KizunaError):
    message_id = "error.project_already_open"


class TooManyProjects(KizunaError):
    message_id = "error.project_too_many"


class NotProjectMember(KizunaError):
    message_id = "error.project_not_member"


class NotProjectOwner(KizunaError):
    message_id = "error.project_not_owner"


class NoProjectFields(KizunaError):
    message_id = "error.project_no_fields"


class ProjectChannelTaken(KizunaError):
    message_id = "error.project_channel_taken"
