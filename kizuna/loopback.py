"""A fake chat API on loopback and the smallest real adapter that POSTs outbox messages to it (tests, benchmarks)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from aiohttp import ClientSession, web

from adapters.contract import DeliveryFailed, OutgoingMessage
from cards.model import message_to_dict


class FakeApi:
    """A chat API on 127.0.0.1: ``POST /messages`` answers the scripted statuses in order, then 200.

    ``count`` is every request seen. With ``record`` (the default) each JSON body is kept in ``requests``,
    and in ``accepted`` when it made a message; a benchmark that only counts passes ``record=False``.
    Like Discord, a body whose ``nonce`` already made a message to the same ``to`` within ``nonce_window``
    seconds is answered with that message's id and makes none (``deduplicated`` counts them).
    Use it as ``async with FakeApi(...) as api`` and give ``api.url`` to the adapter.
    """

    def __init__(self, statuses: Sequence[int] = (), *, record: bool = True, nonce_window: float = 120.0) -> None:
        self.statuses = list(statuses)
        self.record = record
        self.nonce_window = nonce_window
        self.count = 0
        self.deduplicated = 0
        self.requests: list[dict[str, Any]] = []
        self.accepted: list[dict[str, Any]] = []
        self._nonces: dict[tuple[str, str], tuple[float, str]] = {}
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.count += 1
        status = self.statuses.pop(0) if self.statuses else 200
        body = await request.json()
        if self.record:
            self.requests.append(body)
        if status != 200:
            return web.json_response({"message": "unavailable"}, status=status, headers={"Retry-After": "1"})
        now = time.monotonic()
        key = (str(body.get("to")), str(body.get("nonce") or ""))
        seen = self._nonces.get(key) if key[1] else None
        if seen is not None and now - seen[0] <= self.nonce_window:
            self.deduplicated += 1
            return web.json_response({"id": seen[1]})
        message_id = str(self.count)
        if key[1]:
            self._nonces[key] = (now, message_id)
        if self.record:
            self.accepted.append(body)
        return web.json_response({"id": message_id})

    async def __aenter__(self) -> FakeApi:
        app = web.Application()
        app.router.add_post("/messages", self.handle)
        self.runner = web.AppRunner(app, access_log=None)
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
    """The smallest real outbox adapter: one POST per delivery, failures judged by ``DeliveryFailed.for_status``."""

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
        body = {"to": outgoing.address_key, "delivery": outgoing.delivery_id, "nonce": outgoing.idempotency_key,
                "message": message_to_dict(outgoing.message)}
        async with self.session.post(f"{self.base_url}/messages", json=body) as response:
            if response.status == 200:
                return
            retry_after = response.headers.get("Retry-After")
            raise DeliveryFailed.for_status(response.status, f"HTTP {response.status}",
                                            float(retry_after) if retry_after else None)
