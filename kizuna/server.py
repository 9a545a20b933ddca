"""The one aiohttp server: health routes, every enabled adapter, the database and background workers."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import gc
import logging
import socket
import sys
from collections.abc import AsyncIterator, Sequence

from aiohttp import web
from aiohttp.typedefs import Handler

from adapters.contract import Adapter, AdapterContext
from core import db, digest_scheduler, outage
from core.config import ConfigurationError, Settings
from core.dashboard import warming as dashboard_warming
from core.meetings import scheduler as reminder_scheduler
from core.mixers import scheduler as mixer_scheduler
from core.projects import closing as project_closing
from kizuna.dashboard import Dashboard
from kizuna.logs import redact_url
from kizuna.plugins import load_adapters
from kizuna.worker import OutboxWorker, outbox_lease

log = logging.getLogger("kizuna.server")

SWITCH_INTERVAL = 0.001
SETTINGS_KEY = web.AppKey("settings", Settings)
ADAPTERS_KEY: web.AppKey[list[Adapter]] = web.AppKey("adapters", list)


class UnmigratedDatabase(ConfigurationError):
    """The database is missing migrations."""


class NewerDatabase(ConfigurationError):
    """The database has migrations this code does not know: a newer Kizuna upgraded it."""


class CannotListen(ConfigurationError):
    """The server cannot listen on ``KIZUNA_HOST``:``KIZUNA_PORT`` (taken, forbidden, or no such address)."""


@web.middleware
async def last_resort(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Nothing unexpected becomes a bare HTTP 500: log it and answer 503 with a retry hint.

    A request that failed because the database does not answer is part of an outage, which
    ``core.outage`` logs once; anything else is logged with its traceback.
    """
    try:
        response: web.StreamResponse = await handler(request)
        return response
    except web.HTTPException:
        raise
    except asyncio.CancelledError:
        raise
    except Exception as error:
        await outage.report(log, error, "unhandled error on %s %s", request.method, request.path)
        return web.json_response({"error": "temporarily unavailable"}, status=503, headers={"Retry-After": "1"})


async def healthz(request: web.Request) -> web.Response:
    """Liveness: the process answers."""
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """Readiness: the database answers (an outage's start and end are logged once)."""
    if await outage.check() is None:
        return web.json_response({"status": "ready", "database": "ok"})
    return web.json_response({"status": "not ready", "database": "unreachable"}, status=503)


def build_app(settings: Settings, *, adapters: Sequence[Adapter] | None = None, manage_database: bool = True,
              run_workers: bool = True) -> web.Application:
    """Build the app: health routes, adapters' routes, and a cleanup context that starts and stops it all.

    ``adapters`` defaults to the enabled entry-point adapters. Tests that open the database
    themselves pass ``manage_database=False``.
    """
    app = web.Application(middlewares=[last_resort], client_max_size=1024 * 1024)
    app[SETTINGS_KEY] = settings
    if adapters is None:
        context = AdapterContext(settings=settings)
        loaded, off = load_adapters(context)
        on = ", ".join(a.name for a in loaded) or "none"
        reasons = "; ".join(f"{name} off: {why}" for name, why in off.items())
        log.info("adapters on: %s%s", on, f" ({reasons})" if reasons else "")
        adapters = loaded
    app[ADAPTERS_KEY] = list(adapters)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    for adapter in adapters:
        adapter.mount(app)
    Dashboard(settings).mount(app)

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        if manage_database:
            await db.init_db(settings.database_url, pool=pool_settings(settings))
            await ensure_migrated(settings)
        enabled: list[Adapter] = app[ADAPTERS_KEY]
        for adapter in enabled:
            await adapter.start()
        # Everything built at start-up lives as long as the process: keep it out of the collector's
        # full passes, which otherwise stall every request in flight for tens of milliseconds.
        gc.collect()
        gc.freeze()
        # SQLite runs on aiosqlite's thread and hands each result back to the event loop; with the
        # default 5 ms GIL switch interval a busy loop makes that thread wait for its turn. 1 ms
        # gave 12–15 % more thanks/s in the Discord benchmark (docs/performance.md).
        switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(min(switch_interval, SWITCH_INTERVAL))
        worker = OutboxWorker.from_settings(enabled, settings)
        # The outbox worker, and the schedulers that feed it: meeting reminders (~15 s), digests and recaps,
        # mixer rounds (~30 s), projects that end; and the dashboard's figures, warmed after each midnight.
        tasks = [asyncio.create_task(worker.run_forever()),
                 asyncio.create_task(reminder_scheduler.run_forever()),
                 asyncio.create_task(digest_scheduler.run_forever()),
                 asyncio.create_task(mixer_scheduler.run_forever()),
                 asyncio.create_task(project_closing.run_forever()),
                 asyncio.create_task(dashboard_warming.run_forever())] if run_workers else []
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            for adapter in app[ADAPTERS_KEY]:
                await adapter.close()
            sys.setswitchinterval(switch_interval)
            if manage_database:
                await db.close_db()

    app.cleanup_ctx.append(lifecycle)
    return app


async def ensure_migrated(settings: Settings) -> None:
    """Apply migrations when ``KIZUNA_AUTO_MIGRATE=1``; otherwise refuse to serve an unmigrated database.
    A database a newer Kizuna has migrated is always refused: this code would write rows that version does not
    expect, and nothing here can undo its migrations."""
    known = set(db.known_migrations())
    newer = [name for name in await db.applied_migrations() if name not in known]
    if newer:
        raise NewerDatabase(
            f"the database {redact_url(settings.database_url)} was migrated by a newer version of Kizuna "
            f"({', '.join(newer)}); this version knows up to {db.known_migrations()[-1]}. Nothing was changed: "
            "upgrade Kizuna, or restore a backup taken before the upgrade."
        )
    pending = await db.pending_migrations()
    if not pending:
        return
    if settings.auto_migrate:
        applied = await db.apply_migrations()
        log.info("applied migrations: %s", ", ".join(applied))
        return
    raise UnmigratedDatabase(
        f"the database {redact_url(settings.database_url)} is missing {len(pending)} migration(s) "
        f"({', '.join(pending)}). Run `kizuna migrate` first (or set KIZUNA_AUTO_MIGRATE=1)."
    )


def pool_settings(settings: Settings) -> db.PoolSettings:
    """The PostgreSQL pool of one serving process: its share of ``KIZUNA_DB_CONNECTIONS``."""
    return db.PoolSettings(size=settings.db_pool_size, timeout=settings.db_pool_timeout)


async def preflight(settings: Settings) -> None:
    """Before serving: the database opens, and is migrated (or refused), once, before any worker starts."""
    await db.init_db(settings.database_url)
    try:
        await ensure_migrated(settings)
    finally:
        await db.close_db()


def check_settings(settings: Settings) -> None:
    """Refuse configurations that cannot be served safely, before anything starts.

    Each enabled adapter checks its own settings when it is created (nothing is started or opened),
    so a broken one stops ``kizuna serve`` before the database is touched.
    """
    settings.check_workers()
    load_adapters(AdapterContext(settings=settings))
    outbox_lease(settings)


def serve(settings: Settings) -> None:
    """Serve the app until SIGINT or SIGTERM; "serving on" is logged once the port is bound.

    With ``settings.workers`` above 1, gunicorn runs that many processes on one socket
    (``kizuna.workers``). A port that is taken (or otherwise unusable) raises ``CannotListen``,
    after everything that started has stopped again.
    """
    if settings.workers > 1:
        from kizuna.workers import serve_workers

        serve_workers(settings, bind(settings))
        return
    app = build_app(settings)
    url = f"http://{settings.host}:{settings.port}"
    try:
        # aiohttp calls ``print`` only once every site listens: that is when we are serving.
        web.run_app(app, host=settings.host, port=settings.port, shutdown_timeout=5.0, access_log=None,
                    handle_signals=True, print=lambda _banner: log.info("serving on %s", url))
    except OSError as error:
        problem = _listen_problem(settings, error)
        if problem is None:
            raise
        raise CannotListen(problem) from None


def bind(settings: Settings) -> socket.socket:
    """A listening socket on ``KIZUNA_HOST``:``KIZUNA_PORT`` (``CannotListen`` saying why when it cannot be had)."""
    try:
        family, kind, proto, _name, address = socket.getaddrinfo(settings.host, settings.port,
                                                                  type=socket.SOCK_STREAM)[0]
        sock = socket.socket(family, kind, proto)
    except OSError as error:
        raise CannotListen(_listen_problem(settings, error) or str(error)) from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(1024)
    except OSError as error:
        sock.close()
        raise CannotListen(_listen_problem(settings, error) or str(error)) from None
    return sock


def _listen_problem(settings: Settings, error: OSError) -> str | None:
    """What to tell the operator when binding failed; None for an error that is not about listening."""
    host, port = settings.host, settings.port
    other = port + 1 if port < 65535 else port - 1
    if error.errno == errno.EADDRINUSE:
        return (f"port {port} on {host} is already in use (another `kizuna serve` or `make run`?). "
                f"Stop that process, or pick another port: KIZUNA_PORT={other} kizuna serve")
    if error.errno == errno.EACCES:
        return (f"no permission to listen on port {port} on {host} (ports below 1024 need extra rights). "
                f"Pick another port: KIZUNA_PORT={other} kizuna serve")
    if error.errno == errno.EADDRNOTAVAIL or isinstance(error, socket.gaierror):
        return (f"cannot listen on {host}: this machine has no such address. Set KIZUNA_HOST to one of its "
                "addresses (127.0.0.1 for this machine only, 0.0.0.0 for every interface)")
    return None
