"""A third-party Kizuna adapter: a JSON chat endpoint, written against the plug-in contract only.

``POST /api/webchat/messages`` with ``{"workspace", "user", "text"}`` (and optionally ``"name"``,
``"locale"``) answers ``{"text": …, "message": …}``: the reply as plain text and as Kizuna's neutral
message. It is pure translation: JSON → the text grammar → ``execute`` → ``cards`` → JSON.
"""

from __future__ import annotations

import json
import re
from typing import Any

from aiohttp import web

from adapters.contract import AdapterContext, AdapterDisabled, DeliveryFailed, OutgoingMessage
from cards.build import error_message
from cards.model import message_to_dict
from cards.outcomes import Audience, render_outcome
from cards.text import render_text
from core.app.execute import Context, execute
from core.app.grammar import mention_token, parse, without_markers
from core.errors import KizunaError
from core.i18n import resolve_locale
from core.services.members import Person, ensure_member
from core.services.workspaces import ensure_workspace

PLATFORM = "webchat"
ROUTE = "/api/webchat/messages"
_MENTION = re.compile(r"(?:(?<=\s)|^)@([\w.-]+)")


def create_adapter(context: AdapterContext) -> WebchatAdapter:
    """The ``kizuna.adapters`` factory: on when ``KIZUNA_WEBCHAT=1``."""
    if context.settings.env("KIZUNA_WEBCHAT") != "1":
        raise AdapterDisabled("set KIZUNA_WEBCHAT=1 to serve the webchat endpoint")
    return WebchatAdapter()


def add_cli(subparsers: Any) -> None:
    """The ``kizuna.cli`` hook: ``kizuna webchat route`` prints where the endpoint is."""
    parser = subparsers.add_parser("webchat", help="the webchat example adapter")
    parser.add_argument("what", choices=["route"])
    parser.set_defaults(func=lambda args: print(ROUTE))


class WebchatAdapter:
    """Receives a JSON message, answers with Kizuna's reply."""

    name = PLATFORM
    platform = PLATFORM

    def mount(self, app: web.Application) -> None:
        app.router.add_post(ROUTE, self.receive)

    async def start(self) -> None:
        """Nothing to open."""

    async def close(self) -> None:
        """Nothing to close."""

    async def deliver(self, outgoing: OutgoingMessage) -> None:
        # A JSON endpoint only answers; it has nowhere to post on its own.
        raise DeliveryFailed("webchat cannot post messages on its own", permanent=True)

    async def receive(self, request: web.Request) -> web.Response:
        try:
            body = json.loads(await request.read())
            workspace_id, user, text = (str(body[k]) for k in ("workspace", "user", "text"))
        except (ValueError, KeyError, TypeError):
            return web.json_response({"error": "expected JSON with workspace, user and text"}, status=400)
        if not workspace_id.strip() or not user.strip():
            return web.json_response({"error": "workspace and user must not be empty"}, status=400)
        workspace = await ensure_workspace(PLATFORM, workspace_id)
        member = await ensure_member(workspace, user, display_name=body.get("name"), locale=body.get("locale"))
        locale = resolve_locale(body.get("locale") or member.locale, workspace.default_locale)
        people: list[Person] = []

        def mention(match: re.Match[str]) -> str:
            people.append(Person(match.group(1)))
            return mention_token(len(people) - 1)

        try:
            command = parse(_MENTION.sub(mention, without_markers(text)), people)
            outcome = await execute(Context(workspace, member, locale, PLATFORM), command)
            message = render_outcome(outcome, Audience(locale, workspace.timezone, PLATFORM))
        except KizunaError as error:
            message = error_message(error, locale)
        return web.json_response({"text": render_text(message), "message": message_to_dict(message)})
