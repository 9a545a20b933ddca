"""What the robustness tests of both endpoints share: example counts, statistics and what a leak looks like."""

from __future__ import annotations

import builtins
import logging
import os
import re

from hypothesis import HealthCheck, currently_in_test_context, event
from hypothesis import settings as hypothesis_settings

from core.i18n import translate

FUZZ = hypothesis_settings(max_examples=int(os.environ.get("KIZUNA_FUZZ_EXAMPLES", "60")), deadline=None,
                           suppress_health_check=[HealthCheck.function_scoped_fixture])

_EXCEPTION_NAMES = sorted(name for name, obj in vars(builtins).items()
                          if isinstance(obj, type) and issubclass(obj, BaseException) and name != "Warning")
# A traceback or an exception's name in anything a user or a platform receives.
LEAK = re.compile(r"Traceback|\b(?:" + "|".join(_EXCEPTION_NAMES) + r")\b|\b[A-Z]\w*(?:Error|Exception)\b")
# The answer of a handler that failed: bad input must get its own clear message instead.
APOLOGIES = tuple(translate(lang, "error.internal") for lang in ("en", "ja"))


def tally(value: str) -> None:
    """``hypothesis.event`` (what the examples reached, for the statistics); nothing in a plain test."""
    if currently_in_test_context():
        event(value)


def assert_clean(text: str, sent: str, where: str) -> None:
    """``text`` (something Kizuna answered or sent) holds no leak and no apology that ``sent`` did not."""
    leaks = {m.group(0) for m in LEAK.finditer(text)} - {m.group(0) for m in LEAK.finditer(sent)}
    assert not leaks, f"{where} leaks {leaks}: {text[:500]}"
    for apology in APOLOGIES:
        assert apology not in text or apology in sent, f"{where} apologises for an internal error: {text[:500]}"


def assert_nothing_failed(records: list[logging.LogRecord]) -> None:
    """No handler logged an exception (they answer politely, so only the log tells)."""
    failures = [r for r in records if r.exc_info or r.levelno >= logging.CRITICAL]
    assert not failures, "\n".join(f"{r.name}: {r.getMessage()}" for r in failures)
