"""``kizuna backup`` and ``kizuna restore``: a consistent copy of the SQLite database while the server runs, and
putting one back after checking it.

The copy is made with SQLite's backup API in one step: it reads the whole database inside one read transaction, so
it is the database as it was at one instant, and in WAL mode the server keeps writing meanwhile. A file copy of a
live database can catch a page half-written or miss what is still in the ``-wal`` file. PostgreSQL has its own
tools (``pg_dump``, ``pg_restore``); the README gives the commands.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from core import db
from kizuna.cli import CommandError

SQLITE_HEADER = b"SQLite format 3\x00"
# How long restore waits for other connections to the database to go away before it says a server uses it.
IN_USE_TIMEOUT = 1.0
# How long the backup waits for a lock it needs (only while another connection recovers or checkpoints the log).
BUSY_TIMEOUT = 10.0
_BUSY_CODES = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


@dataclass(frozen=True)
class Contents:
    """What a checked Kizuna database holds."""

    thanks: int
    migrations: tuple[str, ...]  # applied, as ``models.0001_initial``, in order

    @property
    def latest(self) -> str:
        """The last migration applied: the schema version of the database."""
        return self.migrations[-1].split(".", 1)[1]


@dataclass(frozen=True)
class BackupDone:
    """A backup written and checked."""

    database: Path
    file: Path
    size: int
    contents: Contents


@dataclass(frozen=True)
class RestoreDone:
    """A backup put in place of the database."""

    file: Path
    database: Path
    contents: Contents
    kept: Path | None  # where the database that was replaced now is (None if there was none)
    missing: tuple[str, ...]  # migrations this code has and the backup has not: `kizuna migrate` applies them


class _Unfit(Exception):
    """A database file failed a check: ``kind`` is ``corrupt`` or ``not_kizuna``; ``detail`` says what was seen."""

    def __init__(self, kind: str, detail: str = "") -> None:
        super().__init__(kind)
        self.kind = kind
        self.detail = detail


def database_file(database_url: str, *, restoring: bool) -> Path:
    """The SQLite file of ``KIZUNA_DATABASE_URL``; a PostgreSQL or in-memory database is refused with the way out."""
    db.check_database_url(database_url)  # unsupported schemes, a missing folder: the usual one-line errors
    path = db.sqlite_path(database_url)
    if path is None:
        raise CommandError("cli.restore.postgres" if restoring else "cli.backup.postgres",
                           url=db.shown_url(database_url))
    if path == ":memory:":
        raise CommandError("cli.backup.memory")
    return Path(path)


def backup(database_url: str, out: Path, *, force: bool = False) -> BackupDone:
    """Copy the database to ``out`` while it is in use, check the copy, and say what it holds.

    The copy is written beside ``out`` and renamed over it only once it passed ``PRAGMA integrity_check``, so an
    existing file (with ``force``) is replaced whole or not at all.
    """
    source = database_file(database_url, restoring=False)
    if not source.is_file():
        raise CommandError("cli.backup.no_database", database=str(source.absolute()))
    if not out.parent.is_dir():
        raise CommandError("cli.backup.folder_missing", folder=str(out.parent.absolute()), file=str(out))
    if out.exists():
        if _same_file(out, source):
            raise CommandError("cli.backup.onto_database", file=str(out))
        if not force:
            raise CommandError("cli.backup.exists", file=str(out))
        if out.is_dir():
            raise CommandError("cli.cannot_write", file=str(out), reason=os.strerror(errno.EISDIR))
    with _part_file(out.parent, f".{out.name}.", ".part") as part:
        try:
            with contextlib.closing(_connect(source, read_only=True, timeout=BUSY_TIMEOUT)) as reading:
                _copy(reading, part)
        except sqlite3.Error as error:
            raise CommandError("cli.backup.failed", database=str(source), reason=str(error)) from None
        try:
            contents = _check_file(part)
        except _Unfit as unfit:
            message = "cli.backup.corrupt" if unfit.kind == "corrupt" else "cli.backup.not_kizuna"
            raise CommandError(message, database=str(source), problem=unfit.detail) from None
        size = part.stat().st_size
        _install(part, out)
    return BackupDone(source, out, size, contents)


def restore(database_url: str, file: Path) -> RestoreDone:
    """Check ``file`` and put it in place of the database, keeping the database it replaces beside it.

    Refused, with nothing changed, when the file is missing, not SQLite, damaged, not Kizuna's, from a newer
    schema than this code knows, or when another process (a running server) has the database open.
    """
    target = database_file(database_url, restoring=True)
    if not file.is_file():
        raise CommandError("cli.restore.missing", file=str(file))
    try:
        with file.open("rb") as handle:
            header = handle.read(len(SQLITE_HEADER))
    except OSError as error:
        raise CommandError("cli.cannot_read", file=str(file), reason=error.strerror or str(error)) from None
    if header != SQLITE_HEADER:
        raise CommandError("cli.restore.not_sqlite", file=str(file))
    if target.exists() and _same_file(file, target):
        raise CommandError("cli.restore.onto_itself", file=str(file))
    with _part_file(target.parent, f".{target.name}.restore-", ".part") as part:
        try:
            with contextlib.closing(_connect(file, read_only=True, timeout=BUSY_TIMEOUT)) as reading:
                _copy(reading, part)
            contents = _check_file(part)
        except sqlite3.DatabaseError as error:
            if getattr(error, "sqlite_errorcode", 0) & 0xFF == sqlite3.SQLITE_FULL:  # the disk, not the file
                raise CommandError("cli.cannot_write", file=str(part), reason=str(error)) from None
            raise CommandError("cli.restore.corrupt", file=str(file), problem=str(error)) from None
        except _Unfit as unfit:
            message = "cli.restore.corrupt" if unfit.kind == "corrupt" else "cli.restore.not_kizuna"
            raise CommandError(message, file=str(file), problem=unfit.detail) from None
        known = db.known_migrations()
        newer = [name for name in contents.migrations if name not in known]
        if newer:
            raise CommandError("cli.restore.newer", file=str(file), migrations=", ".join(newer),
                               latest=known[-1].split(".", 1)[1])
        kept = _replace_database(target, part)
    missing = tuple(name for name in known if name not in contents.migrations)
    return RestoreDone(file, target, contents, kept, missing)


def _check_file(path: Path) -> Contents:
    """Check a database file: ``integrity_check`` passes and Kizuna's schema is there; raises ``_Unfit``."""
    try:
        with contextlib.closing(_connect(path, read_only=True, timeout=BUSY_TIMEOUT)) as conn:
            problems = [str(row[0]) for row in conn.execute("PRAGMA integrity_check(5)")]
            if problems != ["ok"]:
                raise _Unfit("corrupt", "; ".join(problems))
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if db.MIGRATIONS_TABLE not in tables or "thanks" not in tables:
                raise _Unfit("not_kizuna")
            rows = conn.execute(f'SELECT app, name FROM "{db.MIGRATIONS_TABLE}" WHERE app = ? ORDER BY name',
                                [db.APP_LABEL]).fetchall()
            thanks = int(conn.execute("SELECT count(*) FROM thanks").fetchone()[0])
    except sqlite3.DatabaseError as error:
        raise _Unfit("corrupt", str(error)) from None
    if not rows:
        raise _Unfit("not_kizuna")
    return Contents(thanks, tuple(f"{app}.{name}" for app, name in rows))


# ---- SQLite and files --------------------------------------------------------------------------


def _connect(path: Path, *, read_only: bool = False, timeout: float) -> sqlite3.Connection:
    """A connection to an existing file (never creating one), in autocommit mode."""
    mode = "ro" if read_only else "rw"
    return sqlite3.connect(f"{path.absolute().as_uri()}?mode={mode}", uri=True, timeout=timeout,
                           isolation_level=None)


def _copy(source: sqlite3.Connection, part: Path) -> None:
    """Copy ``source`` into the empty file ``part`` with the backup API, in one step, as one self-contained file."""
    with contextlib.closing(sqlite3.connect(part, isolation_level=None)) as target:
        # pages=-1 (the default): one step, so one read transaction and one instant of the database. In steps,
        # each write by the server would restart the copy, which might then never finish under load.
        source.backup(target)
        # The copy inherits WAL mode from the page it copied; a backup is one file, without a ``-wal`` beside it.
        target.execute("PRAGMA journal_mode=DELETE")


@contextlib.contextmanager
def _part_file(folder: Path, prefix: str, suffix: str) -> Iterator[Path]:
    """A new empty file in ``folder`` (where the result will go, so a rename is atomic), removed unless renamed."""
    try:
        handle, name = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=folder)
    except OSError as error:
        raise CommandError("cli.cannot_write", file=str(folder), reason=error.strerror or str(error)) from None
    os.close(handle)
    part = Path(name)
    try:
        yield part
    finally:
        for leftover in (part, part.with_name(part.name + "-journal")):
            with contextlib.suppress(OSError):
                leftover.unlink()


def _install(part: Path, path: Path) -> None:
    """Make ``part`` durable and rename it over ``path``."""
    try:
        with part.open("rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(part, path)
    except OSError as error:
        raise CommandError("cli.cannot_write", file=str(path), reason=error.strerror or str(error)) from None
    _sync_folder(path.parent)


def _replace_database(target: Path, part: Path) -> Path | None:
    """Put ``part`` in place of the database ``target``; the old one is kept under a new name, which is returned.

    While this runs, the old database is held with an exclusive lock, taken only if no other connection has it open
    (in WAL mode every open connection, even an idle one, holds a shared lock on the file). Leaving WAL mode first
    writes the log into the file itself, so the kept copy is complete and no ``-wal`` is left to be replayed onto
    the restored database.
    """
    if not target.exists():
        for sidecar in ("-wal", "-shm", "-journal"):  # of no database: they must not meet the restored one
            with contextlib.suppress(FileNotFoundError):
                target.with_name(target.name + sidecar).unlink()
        _install(part, target)
        return None
    kept = _unused_name(target, datetime.now(UTC).strftime("before-restore-%Y%m%dT%H%M%SZ"))
    try:
        old = _connect(target, timeout=IN_USE_TIMEOUT)
    except sqlite3.Error as error:
        raise CommandError("cli.restore.cannot_open", database=str(target), reason=str(error)) from None
    with contextlib.closing(old):
        try:
            old.execute("PRAGMA locking_mode=EXCLUSIVE")
            old.execute("PRAGMA journal_mode=DELETE").fetchall()
            old.execute("BEGIN EXCLUSIVE")
            old.execute("COMMIT")  # the lock stays until the connection closes (exclusive locking mode)
        except sqlite3.Error as error:
            if getattr(error, "sqlite_errorcode", 0) & 0xFF in _BUSY_CODES:
                raise CommandError("cli.restore.in_use", database=str(target)) from None
            raise CommandError("cli.restore.cannot_open", database=str(target), reason=str(error)) from None
        try:
            for sidecar in ("-wal", "-shm"):  # the log is in the file now, and nobody else has it open
                with contextlib.suppress(FileNotFoundError):
                    target.with_name(target.name + sidecar).unlink()
            try:
                os.link(target, kept)
            except OSError:  # a file system without hard links: a copy, while nobody can write
                shutil.copy2(target, kept)
            _same_owner_and_mode(part, target)
            with part.open("rb+") as handle:
                os.fsync(handle.fileno())
            os.replace(part, target)
        except OSError as error:
            raise CommandError("cli.cannot_write", file=str(target), reason=error.strerror or str(error)) from None
    _sync_folder(target.parent)
    return kept


def _same_owner_and_mode(path: Path, like: Path) -> None:
    """Give ``path`` the owner and permissions of ``like``, so the server's user can still write the database that a
    restore run as another user (root) put in place."""
    status = like.stat()
    os.chmod(path, status.st_mode & 0o7777)
    with contextlib.suppress(PermissionError):
        os.chown(path, status.st_uid, status.st_gid)


def _unused_name(path: Path, tag: str) -> Path:
    """``<path>.<tag>``, or ``<path>.<tag>-2`` … when that exists (two restores within a second keep both)."""
    candidate = path.with_name(f"{path.name}.{tag}")
    number = 1
    while candidate.exists():
        number += 1
        candidate = path.with_name(f"{path.name}.{tag}-{number}")
    return candidate


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _sync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable (where the platform allows opening a folder)."""
    with contextlib.suppress(OSError):
        handle = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(handle)
        finally:
            os.close(handle)
