"""The files of a backup: private (0600) files, their digests, SQLite's online copy, and whether
the files a restore would replace are in use."""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, Literal

from worker.backup.manifest import BackupError, FileEntry
from worker.settings import Settings

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", ""})


@contextlib.contextmanager
def _private(path: Path, mode: Literal["w", "wb"] = "w") -> Iterator[IO[Any]]:
    """A new file readable by its owner only (0600 from its creation), synced to disk when closed."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    f: IO[Any] = os.fdopen(fd, "w", encoding="utf-8") if mode == "w" else os.fdopen(fd, "wb")
    with f:
        yield f
        f.flush()
        os.fsync(f.fileno())


def _write_private(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` in one step (0600)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")  # created 0600
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def _digest(path: Path) -> FileEntry:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return FileEntry(size=path.stat().st_size, sha256=h.hexdigest())


def _copy_sqlite(src: Path, dst: Path, *, live: bool = True) -> None:
    """Copy a SQLite database with the online backup API into one self-contained file (0600); a
    ``live`` one may be written by other processes meanwhile (and may be in WAL mode)."""
    with _private(dst, "wb"):
        pass  # an empty file is an empty database: SQLite fills it, keeping the mode
    try:
        uri = f"{src.resolve().as_uri()}?mode={'rw' if live else 'ro'}"  # never created here
        source = sqlite3.connect(uri, uri=True, timeout=30)
        try:
            target = sqlite3.connect(dst)
            try:
                source.backup(target)  # in one step: one read transaction on the source
                target.execute("PRAGMA journal_mode = DELETE")  # no -wal beside the copy
            finally:
                target.close()
        finally:
            source.close()
    except sqlite3.Error as e:
        raise BackupError(f"cannot copy the SQLite database {src}: {e}", code=1) from None


def _openers(path: Path) -> list[str]:
    """Other processes that have ``path`` (or its journal files) open: read from /proc on Linux."""
    names = {f"{path.resolve()}{suffix}" for suffix in ("", "-wal", "-shm", "-journal")}
    proc, found = Path("/proc"), []
    if not proc.is_dir():
        return []
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        with contextlib.suppress(OSError):
            if any(os.readlink(fd) in names for fd in (entry / "fd").iterdir()):
                found.append(entry.name)
    return found


def _in_use(path: Path) -> str | None:
    """Why another process seems to be using the SQLite file ``path``, or None."""
    pids = _openers(path)
    if pids:
        return f"process {', '.join(pids)} has it open"
    if not path.exists():
        return None
    conn = sqlite3.connect(path, timeout=0)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.rollback()
    except sqlite3.OperationalError as e:
        if "locked" in str(e):
            return "it is locked"
    except sqlite3.DatabaseError:
        return None  # not a database: replacing it takes nothing from anyone
    finally:
        conn.close()
    return None


def _is_local(address: str) -> bool:
    """True when ``address`` (host:port) is a port on this machine."""
    host, _, port = address.rpartition(":")
    return host.strip("[]") in LOCAL_HOSTS and port.isdigit()


def _temporal_listening(settings: Settings) -> bool:
    """True when the configured Temporal frontend is on this machine and accepts connections."""
    if not _is_local(settings.address):
        return False
    host, _, port = settings.address.rpartition(":")
    try:
        with socket.create_connection((host.strip("[]") or "127.0.0.1", int(port)), timeout=0.5):
            return True
    except OSError:
        return False
