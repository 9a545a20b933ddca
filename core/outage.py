"""Database outages, logged once: a warning with the cause when the database stops answering, and a
line when it answers again, instead of a traceback from every request and every pass that needed it.

Whoever catches an unexpected error calls ``report`` (or asks ``down``): if the database does not
answer a trivial query, the error is the outage's, and only the outage is logged; if it answers,
the error is truly unexpected and keeps its traceback. Background passes and ``/readyz``
call ``check`` and ``answered``, so the end of an outage is noticed without waiting for a failure.

The state is the process's, like tortoise's connections: one database, so one outage at a time.
"""

from __future__ import annotations

import asyncio
import logging
import time

from core import db

log = logging.getLogger("kizuna.database")

# How long a probe may wait for the database (a cut network answers nothing at all).
PROBE_TIMEOUT = 2.0
# During an outage, failures this soon after a probe that found it down are the outage's without asking again.
RECHECK_AFTER = 1.0
# A full connection pool is logged at most once in this many seconds.
BUSY_LOG_INTERVAL = 10.0


class _State:
    since: float | None = None  # when the outage began (monotonic), None while the database answers
    checked: float = 0.0  # when a probe last found it down
    busy_logged: float = -BUSY_LOG_INTERVAL  # when a full connection pool was last logged


_state = _State()


async def check() -> BaseException | None:
    """Ask the database now; log an outage's start or end. Returns why it does not answer (None if it does)."""
    try:
        cause: BaseException | None = await asyncio.wait_for(db.why_unreachable(), PROBE_TIMEOUT)
    except TimeoutError as timeout:
        cause = timeout
    if cause is None or isinstance(cause, db.PoolExhausted):  # a full pool is overload, not an outage
        answered()
        return None
    now = time.monotonic()
    _state.checked = now
    if _state.since is None:
        _state.since = now
        log.warning("the database does not answer (%s); what needs it fails until it answers again",
                    _describe(cause))
    return cause


def answered() -> None:
    """The database just answered: an outage, if one was on, is over."""
    if _state.since is not None:
        log.info("the database answers again, after %.1f s", time.monotonic() - _state.since)
        _state.since = None


async def down() -> bool:
    """True if the database does not answer: then a failure just caught is the outage's (logged once).

    During an outage the database is asked at most once every ``RECHECK_AFTER`` seconds.
    """
    if _state.since is not None and time.monotonic() - _state.checked < RECHECK_AFTER:
        return True
    return await check() is not None


async def report(logger: logging.Logger, error: BaseException, message: str, *args: object) -> None:
    """Log an unexpected ``error`` with its traceback, unless a database outage explains it.

    A full connection pool (``db.PoolExhausted``) is overload, not an outage: it is logged as one
    warning at most every ``BUSY_LOG_INTERVAL`` seconds, and the database is not probed (the probe
    would wait for the same pool).
    """
    if isinstance(error, db.PoolExhausted):
        now = time.monotonic()
        if now - _state.busy_logged >= BUSY_LOG_INTERVAL:
            _state.busy_logged = now
            log.warning("overloaded: %s; requests that found no free connection were answered 503 "
                        "(see KIZUNA_DB_CONNECTIONS and KIZUNA_WORKERS in the README)", error)
        return
    if not await down():
        logger.error(message, *args, exc_info=error)


def _describe(cause: BaseException) -> str:
    text = str(cause).strip()
    return f"{type(cause).__name__}: {text}" if text else type(cause).__name__
