"""Who may read the dashboard: one-time sign-in links from chat, and the sessions they open.

A link is random (256 bits), stored only as its SHA-256, bound to one member of one workspace and
valid ``LINK_LIFETIME``. Reading it (``peek_link``) changes nothing, because chat clients and mail
scanners fetch links before a person clicks; only ``redeem_link`` (the page's POST) uses it up, with
one conditional UPDATE, so two clicks in two processes open one session. A session is another random
token (the cookie, or in a Teams tab the bearer token ``open_session`` gives after the adapter has
checked the person's Entra ID token), stored hashed, valid ``SESSION_LIFETIME``; each request reads its
member fresh, so a revoked admin right or a member who left takes effect at once.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from tortoise.transactions import in_transaction

from core.dashboard.models import DashboardLink, DashboardSession
from core.i18n import SUPPORTED_LOCALES
from core.models import Member, Workspace

LINK_LIFETIME = timedelta(minutes=10)
SESSION_LIFETIME = timedelta(hours=8)
SIGN_IN_PATH = "/dashboard/signin/"
# What a token looks like (``secrets.token_urlsafe(32)``); anything else names no link.
_TOKEN_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
MAX_TOKEN = 128

LinkState = Literal["valid", "used", "expired", "unknown"]


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _well_formed(token: str) -> bool:
    return 16 <= len(token) <= MAX_TOKEN and set(token) <= _TOKEN_CHARS


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


def _locale(locale: str) -> str:
    return locale if locale in SUPPORTED_LOCALES else "ja"


@dataclass(frozen=True)
class IssuedLink:
    """A sign-in link just made: its URL (holding the only copy of the token) and when it stops working."""

    url: str
    expires_at: datetime


async def issue_link(workspace: Workspace, member: Member, locale: str, base_url: str,
                     now: datetime | None = None) -> IssuedLink:
    """A new one-time link for ``member`` of ``workspace``, opening the dashboard in ``locale``."""
    token = secrets.token_urlsafe(32)
    expires_at = _now(now) + LINK_LIFETIME
    await DashboardLink.create(workspace_id=workspace.id, member_id=member.id, token_hash=_hash(token),
                               locale=_locale(locale), expires_at=expires_at)
    return IssuedLink(f"{base_url.rstrip('/')}{SIGN_IN_PATH}{token}", expires_at)


@dataclass(frozen=True)
class LinkLook:
    """What a link is, without using it: its state and the language of its pages."""

    state: LinkState
    locale: str | None = None


async def peek_link(token: str, now: datetime | None = None) -> LinkLook:
    """The state of the link ``token`` (nothing is written)."""
    if not _well_formed(token):
        return LinkLook("unknown")
    link = await DashboardLink.get_or_none(token_hash=_hash(token))
    if link is None:
        return LinkLook("unknown")
    if link.used_at is not None:
        return LinkLook("used", link.locale)
    if link.expires_at <= _now(now):
        return LinkLook("expired", link.locale)
    return LinkLook("valid", link.locale)


@dataclass(frozen=True)
class OpenedSession:
    """A session just opened: the cookie's token and when it ends."""

    token: str
    expires_at: datetime
    locale: str


async def redeem_link(token: str, now: datetime | None = None) -> OpenedSession | LinkLook:
    """Use the link up and open a session; the link's state (``used``, ``expired``…) when it cannot."""
    when = _now(now)
    look = await peek_link(token, when)
    if look.state != "valid":
        return look
    async with in_transaction():
        # The conditional UPDATE is the lock: of two clicks at the same moment one changes the row.
        taken = await DashboardLink.filter(token_hash=_hash(token), used_at__isnull=True,
                                           expires_at__gt=when).update(used_at=when)
        if taken != 1:
            return LinkLook("used", look.locale)
        link = await DashboardLink.get(token_hash=_hash(token))
        return await _open(link.workspace_id, link.member_id, link.locale, when)


async def open_session(workspace: Workspace, member: Member, locale: str, now: datetime | None = None) -> OpenedSession:
    """A session for ``member`` of ``workspace`` whose identity a platform vouched for (Teams tab single sign-on)."""
    return await _open(workspace.id, member.id, _locale(locale), _now(now))


async def _open(workspace_id: int, member_id: int, locale: str, when: datetime) -> OpenedSession:
    session_token = secrets.token_urlsafe(32)
    expires_at = when + SESSION_LIFETIME
    await DashboardSession.create(workspace_id=workspace_id, member_id=member_id, token_hash=_hash(session_token),
                                  csrf_token=secrets.token_urlsafe(24), locale=locale, expires_at=expires_at)
    return OpenedSession(session_token, expires_at, locale)


@dataclass(frozen=True)
class Viewer:
    """Who is reading the dashboard: a member of one workspace (every query is bound to it)."""

    workspace: Workspace
    member: Member
    locale: str
    csrf_token: str

    @property
    def is_admin(self) -> bool:
        return self.member.may_administer


async def viewer_for(session_token: str, now: datetime | None = None) -> Viewer | None:
    """The viewer of a session cookie; None when it is unknown or has ended."""
    if not _well_formed(session_token):
        return None
    session = await DashboardSession.get_or_none(token_hash=_hash(session_token), expires_at__gt=_now(now))
    if session is None:
        return None
    member = await Member.get_or_none(id=session.member_id, workspace_id=session.workspace_id)
    workspace = await Workspace.get_or_none(id=session.workspace_id)
    if member is None or workspace is None:
        return None
    return Viewer(workspace, member, session.locale, session.csrf_token)


async def end_session(session_token: str) -> None:
    """Sign out: the session row goes."""
    if _well_formed(session_token):
        await DashboardSession.filter(token_hash=_hash(session_token)).delete()


async def set_session_locale(session_token: str, locale: str) -> None:
    """The language the session's pages speak from now on."""
    if _well_formed(session_token) and locale in SUPPORTED_LOCALES:
        await DashboardSession.filter(token_hash=_hash(session_token)).update(locale=locale)
