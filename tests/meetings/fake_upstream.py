"""A fake chat API on loopback and a tiny adapter that POSTs outbox messages to it (real HTTP both ways)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aiohttp import ClientSession, web

from cards.model import message_to_dict
from kizuna.plugin import DeliveryFailed, OutgoingMessage


class FakeApi:
    """Answers the scripted statuses in order (then 200), records every request."""

    def __init__(self, statuses: Sequence[int] = ()) -> None:
        self.statuses = list(statuses)
        self.requests: list[dict[str, Any]] = []
        self.accepted: list[dict[str, Any]] = []
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.requests.append(body)
        status = self.statuses.pop(0) if self.statuses else 200
        if status != 200:
            return web.json_response({"message": "unavailable"}, status=status, headers={"Retry-After": "1"})
        self.accepted.append(body)
        return web.json_response({"id": str(len(self.accepted))})

    async def __aenter__(self) -> FakeApi:
        app = web.Application()
        app.router.add_post("/messages", self.handle)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.runner is not None
        await self.runner.cleanup()


class HttpAdapter:
    """The smallest real adapter: one POST per delivery; 429/5xx are retried, 403 is permanent."""

    name = "fake"

    def __init__(self, base_url: str, platform: str = "console") -> None:
        self.base_url = base_url
        self.platform = platform
        self.session: ClientSession | None = None

    def mount(self, app: web.Application) -> None:
        """No routes."""

    async def start(self) -> None:
        self.session = ClientSession()

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()

    async def deliver(self, outgoing: OutgoingMessage) -> None:
        assert self.session is not None
        body = {"to": outgoing.address_key, "delivery": outgoing.delivery_id,
                "message": message_to_dict(outgoing.message)}
        async with self.session.post(f"{self.base_url}/messages", json=body) as response:
            if response.status == 200:
                return
            retry_after = float(response.headers.get("Retry-After", "0") or 0)
            raise DeliveryFailed(f"HTTP {response.status}", permanent=response.status in (401, 403, 404),
                                 retry_after=retry_after)
