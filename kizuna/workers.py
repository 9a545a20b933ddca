"""``kizuna serve --workers N``: N processes serving one port, managed by gunicorn.

gunicorn's arbiter forks the workers, replaces one that dies, and on SIGTERM stops accepting and lets each
worker finish what it is doing (``GRACEFUL_TIMEOUT``); aiohttp's ``GunicornWebWorker`` runs the same app as
``kizuna serve`` with one worker, so every process has its adapters, its outbox worker and its reminder
scheduler. That is safe because every piece of background work is claimed in the database (SKIP LOCKED on
PostgreSQL), never by a process's memory; several workers are only allowed on PostgreSQL
(``Settings.check_workers``). Why gunicorn rather than a pre-fork of our own: docs/design.md.

The socket is bound here, before gunicorn starts, so that a taken port is the same one-line refusal as with
one worker, and handed to gunicorn as ``fd://N`` (the workers inherit it when they are forked).
"""

from __future__ import annotations

import logging
import socket
from typing import Any

from gunicorn import glogging
from gunicorn.app.base import BaseApplication

from core.config import Settings

log = logging.getLogger("kizuna.server")

GRACEFUL_TIMEOUT = 5
"""Seconds a worker has, after SIGTERM, to finish the requests it holds (as ``shutdown_timeout`` with one)."""


class _Logs(glogging.Logger):  # type: ignore[misc]
    """gunicorn's own messages go through Kizuna's logging (JSON lines, secrets redacted); no access log."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for logger in (self.error_log, self.access_log):
            logger.handlers.clear()
            logger.propagate = True
        self.access_log.disabled = True


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    def __init__(self, settings: Settings, sock: socket.socket) -> None:
        self.settings = settings
        self.sock = sock
        super().__init__()

    def load_config(self) -> None:
        url = f"http://{self.settings.host}:{self.settings.port}"
        workers = self.settings.workers

        def when_ready(_arbiter: Any) -> None:
            log.info("serving on %s with %d workers", url, workers)

        options = {
            "bind": [f"fd://{self.sock.fileno()}"],
            "workers": workers,
            "worker_class": "aiohttp.GunicornWebWorker",
            "graceful_timeout": GRACEFUL_TIMEOUT,
            "logger_class": _Logs,
            "loglevel": self.settings.log_level.lower(),
            "proc_name": "kizuna",
            "when_ready": when_ready,
            # gunicorn's control socket (one fixed path per user) would clash between two servers; Kizuna
            # is stopped with signals.
            "control_socket_disable": True,
        }
        for name, value in options.items():
            self.cfg.set(name, value)

    def load(self) -> Any:
        from kizuna.server import build_app

        # Each worker builds its own app after the fork: its own event loop, database pool and tasks.
        return build_app(self.settings)


def serve_workers(settings: Settings, sock: socket.socket) -> None:
    """Run ``settings.workers`` processes on ``sock`` until SIGTERM or SIGINT; returns when all have stopped."""
    _Gunicorn(settings, sock).run()
