"""Work-arounds for known defects of botbuilder-python 4.17 / msrest 0.7, kept in one place.

* msrest's ``ClientRetryPolicy`` rebuilds a ~1,000-element list on every connector client
  (twice per outgoing message) with ``i not in <list of 500>``: ~6 ms of CPU each time.
  ``apply_sdk_fixes`` makes ``safe_codes`` a frozenset with the same members (platform notes A.1).
* The SDK never retries a 429/412/5xx from the Bot Connector; ``call_with_retries`` does, honouring
  ``Retry-After`` or backing off exponentially with full jitter, a bounded number of times. Any
  other refusal is final (``refused_for_good``).
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from botbuilder.schema import ErrorResponseException
from msrest.exceptions import HttpOperationError
from msrest.universal_http import requests as msrest_requests

from adapters.contract import DeliveryFailed
from adapters.teams.botframework.wire import ConnectorHTTPError

log = logging.getLogger("kizuna.teams")

T = TypeVar("T")

# Bot Connector answers worth retrying (msteams-docs "rate limit": 429, and 412, 502, 503, 504).
RETRYABLE_STATUSES = frozenset({412, 429, 502, 503, 504})

# The exact members msrest 0.7.1 defines: every code below 500 except 408, plus 501 and 505.
_MSREST_SAFE_CODES = frozenset([i for i in range(500) if i != 408] + [501, 505])


def apply_sdk_fixes() -> None:
    """Make msrest's retry-policy construction cheap without changing what it builds (idempotent)."""
    policy = msrest_requests.ClientRetryPolicy
    if not isinstance(policy.safe_codes, frozenset):
        if frozenset(policy.safe_codes) != _MSREST_SAFE_CODES:
            # A different msrest: leave it alone rather than change its behaviour.
            log.warning("msrest ClientRetryPolicy.safe_codes differs from 0.7.1; not patched")
            return
        policy.safe_codes = _MSREST_SAFE_CODES  # type: ignore[assignment]


def status_of(error: BaseException) -> int | None:
    """The HTTP status of a failed connector call, if it has one."""
    if isinstance(error, HttpOperationError | ConnectorHTTPError):
        response = getattr(error, "response", None)
        status = getattr(response, "status_code", None) or getattr(response, "status", None)
        return int(status) if status is not None else None
    return None


def refused_for_good(error: BaseException) -> bool:
    """The connector answered a call with a refusal no retry can change (400, 403, 404, 413…).

    The one policy of ``DeliveryFailed.for_status``: no answer, 401, 408, 412, 429 and 5xx may
    change on a later try; any other refusal will not.
    """
    status = status_of(error)
    return status is not None and DeliveryFailed.for_status(status, "").permanent


def retry_after_of(error: BaseException, *, now: float | None = None) -> float | None:
    """Seconds the server asked us to wait (``Retry-After`` as seconds or an HTTP date), or None."""
    response = getattr(error, "response", None)
    headers = getattr(response, "headers", None) or {}
    raw = headers.get("Retry-After") if hasattr(headers, "get") else None
    if raw is None:
        return None
    raw = str(raw).strip()
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - (time.time() if now is None else now))


def error_detail(error: BaseException) -> str:
    """A short description of a connector failure for logs and the outbox (status, code, message)."""
    status = status_of(error)
    inner = getattr(error, "error", None)
    inner_error = getattr(inner, "error", None)
    code = getattr(inner_error, "code", None)
    message = getattr(inner_error, "message", None)
    if isinstance(error, ConnectorHTTPError):
        return str(error)
    parts = [f"HTTP {status}" if status else type(error).__name__]
    if code:
        parts.append(str(code))
    if message:
        parts.append(str(message))
    elif not status:
        parts.append(str(error))
    return ": ".join(parts)


@dataclass
class RetryPolicy:
    """How often and how long to retry a connector call inside one request."""

    attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 8.0
    # A server asking for more than this is not waited for here: the caller (or the outbox) retries later.
    max_retry_after: float = 20.0
    sleep: Callable[[float], Awaitable[None]] = field(default=asyncio.sleep)

    def backoff(self, attempt: int) -> float:
        """Full-jitter exponential backoff for the ``attempt``-th failure (1-based)."""
        return random.uniform(0, min(self.max_delay, self.base_delay * (2 ** (attempt - 1))))


async def call_with_retries(operation: Callable[[], Awaitable[T]], policy: RetryPolicy, *,
                            what: str = "connector call") -> T:
    """Run ``operation``; retry it on 429/412/502/503/504 as the policy allows, else raise."""
    attempt = 0
    while True:
        attempt += 1
        try:
            return await operation()
        except (ErrorResponseException, ConnectorHTTPError) as error:
            status = status_of(error)
            if status not in RETRYABLE_STATUSES or attempt >= policy.attempts:
                raise
            wanted = retry_after_of(error)
            if wanted is not None and wanted > policy.max_retry_after:
                raise
            delay = wanted if wanted is not None else policy.backoff(attempt)
            log.warning("%s got HTTP %s (attempt %d/%d); retrying in %.2fs", what, status, attempt,
                        policy.attempts, delay)
            await policy.sleep(delay)

