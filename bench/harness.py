"""What the benchmarks share: ports, child processes and what ``/proc`` says of them, fresh databases,
percentiles, and signed Discord interactions."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from nacl.signing import SigningKey

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 30.0) -> None:
    """Return once something accepts connections on 127.0.0.1:``port``."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process and its threads so far (Linux ``/proc``), else None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_jiffies() -> tuple[int, int] | None:
    """(busy, total) CPU time of the whole machine so far, in clock ticks (Linux ``/proc/stat``), else None."""
    try:
        ticks = [int(n) for n in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)  # idle + iowait
    return sum(ticks) - idle, sum(ticks)


def children(pid: int) -> list[int]:
    """The processes ``pid`` forked (Linux ``/proc``; empty elsewhere)."""
    try:
        return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def rss_bytes(pid: int) -> int | None:
    """Resident memory of a process (``VmRSS`` in ``/proc/<pid>/status``), else None."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except (OSError, IndexError, ValueError):
        return None
    return None


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGINT, then SIGKILL if the process has not ended 10 s later."""
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def percentile(values: Sequence[float], p: float) -> float:
    """The ``p``-th percentile (0–100) by nearest rank; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


@contextlib.contextmanager
def fresh_database(postgres_url: str | None) -> Iterator[str]:
    """A new, empty database: a SQLite file, or a database created on the PostgreSQL server of
    ``postgres_url`` (dropped afterwards)."""
    if postgres_url is None:
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite://{Path(tmp) / 'bench.sqlite3'}"
        return
    import asyncpg

    name = f"kizuna_bench_{uuid.uuid4().hex[:12]}"

    async def admin(sql: str) -> None:
        connection = await asyncpg.connect(postgres_url)
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        yield urlunsplit(urlsplit(postgres_url)._replace(path=f"/{name}"))
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def signed(key: SigningKey, payload: dict[str, Any], *, good: bool = True) -> tuple[bytes, dict[str, str]]:
    """A Discord interaction body and its headers, signed with ``key`` (``good=False``: a broken signature)."""
    body = json.dumps(payload).encode()
    stamp = str(int(time.time()))
    signature = key.sign(stamp.encode() + body).signature.hex()
    if not good:
        signature = ("0" if signature[0] != "0" else "1") + signature[1:]
    return body, {"X-Signature-Ed25519": signature, "X-Signature-Timestamp": stamp,
                  "Content-Type": "application/json"}


def is_posted_thanks(body: bytes) -> bool:
    """True if a Discord answer posts a public thanks (an embed in a type-4 message), not a refusal."""
    try:
        answer = json.loads(body)
    except ValueError:
        return False
    data = answer.get("data") or {}
    return answer.get("type") == 4 and bool(data.get("embeds")) and not data.get("flags", 0) & 64
