"""`asts backup DIR` and `asts restore DIR`: the whole state of one ASTS installation, and back.

A backup directory (0700, every file 0600) holds:

- ``db/<table>.jsonl``: every application table, one JSON object per row, all read in one
  snapshot transaction while the system runs (PostgreSQL: REPEATABLE READ READ ONLY; SQLite:
  one read transaction). Values keep their exact meaning: decimals as their string, times in
  ISO 8601 with their offset, bytes in base64, a JSON column's document as it is, SQL NULL as
  ``null``. A JSON column that holds the document ``null`` (not SQL NULL) is written
  ``{"$json": null}``, as is any document that is itself such a one-key object, so the two
  never mix.
- ``paper-exchange.db`` and, on the embedded stack, ``temporal.db``: copied with SQLite's
  online backup API, so the copy is consistent while their processes keep writing.
- ``secrets.enc``: the payload codec keys, the JWT secret and the generated admin password,
  sealed with AES-256-GCM under a key derived from the passphrase by scrypt (its salt and
  parameters are in the file). Nothing secret is written anywhere in clear, nor logged.
- ``manifest.json``: the format, creation time, schema revision, source backend, row counts
  and the size and SHA-256 of every file, with an HMAC under the passphrase-derived key, so a
  file altered together with its checksum is caught as well.

The backup is built under a temporary name beside DIR and renamed at the end: a backup that
failed leaves nothing that looks complete. The copies are taken in the order Temporal,
database, paper venue: every record the restored workflows find is at least as new as their
history, and what they do again is idempotent (keyed by client order ids and natural keys).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import os
import re
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from secrets import token_hex
from typing import Any, Final

from pydantic import ValidationError
from sqlalchemy.engine import make_url

from store.db import display_url
from worker.backup.files import _copy_sqlite, _digest, _in_use, _is_local, _private, _temporal_listening
from worker.backup.manifest import BackupError, FileEntry, Manifest, TableEntry
from worker.backup.sealed import (
    ADMIN_PASSWORD_FILE,
    JWT_SECRET_FILE,
    PASSPHRASE_ENV,
    SECRETS,
    _collect_secrets,
    _mac,
    _restore_secrets,
    _seal,
    _unseal,
    read_passphrase,
)
from worker.backup.tables import _read_database, _write_database
from worker.codec import key_file_path
from worker.settings import Settings

__all__ = [
    "ADMIN_PASSWORD_FILE",
    "JWT_SECRET_FILE",
    "PASSPHRASE_ENV",
    "BackupError",
    "BackupReport",
    "FileEntry",
    "Manifest",
    "RestoreReport",
    "TableEntry",
    "create_backup",
    "read_passphrase",
    "restore_backup",
    "verify_backup",
]

FORMAT: Final = "asts-backup"
FORMAT_VERSION: Final = 1
MANIFEST = "manifest.json"
PAPER = "paper-exchange.db"  # the paper venue's state under the home (exchanges/factory.py)
TEMPORAL = "temporal.db"  # the embedded dev server's database (worker/launcher.py)
_FILE_NAME = re.compile(r"^(db/[a-z_][a-z0-9_]*\.jsonl|paper-exchange\.db|temporal\.db|secrets\.enc)$")


@dataclass(frozen=True)
class BackupReport:
    """What a backup wrote."""

    path: Path
    manifest: Manifest

    def lines(self) -> list[str]:
        """The summary the CLI prints."""
        m = self.manifest
        rows = sum(t.rows for t in m.tables)
        held = ", ".join(f"{k.replace('_', ' ')} ({v})" for k, v in m.secrets.items()) or "none"
        return [
            f"backup written to {self.path}",
            f"  database   {m.backend} at revision {m.alembic_revision}: {len(m.tables)} tables, "
            f"{rows} rows ({m.snapshot})",
            f"  files      {', '.join(n for n in (PAPER, TEMPORAL) if n in m.files) or 'none'}",
            f"  secrets    {held}; encrypted with the passphrase",
        ]


@dataclass
class RestoreReport:
    """What a restore wrote, and what the user should know about it."""

    home: Path
    database: str
    rows: dict[str, int] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """The summary the CLI prints."""
        out = [
            f"restored into {self.home} (database {self.database})",
            f"  database   {sum(self.rows.values())} rows in {len(self.rows)} tables",
            f"  files      {', '.join(self.files) or 'none'}",
        ]
        return out + [f"  note: {n}" for n in self.notes]


# ---- backup -----------------------------------------------------------------------------------


def create_backup(settings: Settings, target: Path, passphrase: str) -> BackupReport:
    """Back up the settings' database, paper venue, Temporal dev server and secrets into ``target``
    (blocking: it runs its own event loop for the database)."""
    target = target.expanduser()
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise BackupError(f"{target} exists and is not an empty directory: a backup goes into a new one")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))  # 0700
    except OSError as e:
        raise BackupError(f"cannot create the backup under {target.parent}: {e.strerror}") from None
    try:
        manifest = _fill(work, settings, passphrase)
        os.replace(work, target)  # an empty target directory is replaced
    except BaseException as e:
        shutil.rmtree(work, ignore_errors=True)
        if isinstance(e, OSError):
            raise BackupError(f"the backup failed: {e}", code=1) from None
        raise
    return BackupReport(path=target, manifest=manifest)


def _fill(work: Path, settings: Settings, passphrase: str) -> Manifest:
    """Write every part of a backup into ``work``, the manifest last."""
    home = settings.home
    if (home / TEMPORAL).exists():
        _copy_sqlite(home / TEMPORAL, work / TEMPORAL)
    revision, snapshot, tables = asyncio.run(_read_database(settings.db_url, work))
    if (home / PAPER).exists():
        _copy_sqlite(home / PAPER, work / PAPER)
    secrets_doc = _collect_secrets(settings)
    sealed, mac_key = _seal(secrets_doc, passphrase)
    with _private(work / SECRETS, "wb") as f:
        f.write(sealed)
    names = sorted(p.relative_to(work).as_posix() for p in work.rglob("*") if p.is_file())
    try:
        asts_version = version("asts")
    except PackageNotFoundError:
        asts_version = "unknown"
    backend = make_url(settings.db_url).get_backend_name()
    manifest = Manifest(
        format=FORMAT,
        version=FORMAT_VERSION,
        created_at=datetime.now(UTC),
        asts_version=asts_version,
        alembic_revision=revision,
        backend="postgresql" if backend == "postgresql" else "sqlite",
        snapshot=snapshot,
        tables=tables,
        files={name: _digest(work / name) for name in names},
        secrets={k: v["from"] for k, v in secrets_doc.items()},
    )
    doc = manifest.model_dump(mode="json")
    doc["mac"] = _mac(doc, mac_key)
    with _private(work / MANIFEST) as f:
        f.write(json.dumps(doc, indent=2) + "\n")
    return Manifest.model_validate(doc)


# ---- restore ----------------------------------------------------------------------------------


def verify_backup(src: Path) -> tuple[Manifest, dict[str, Any]]:
    """The manifest (parsed, and as written) once every file it names matches its size and checksum."""
    path = src / MANIFEST
    if not path.is_file():
        raise BackupError(f"{path} is missing: {src} is not a backup (or an unfinished one)")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(raw, dict) and raw.get("format") == FORMAT and raw.get("version") != FORMAT_VERSION:
            raise BackupError(
                f"{path}: format version {raw.get('version')!r}, this ASTS reads {FORMAT_VERSION}"
            )
        manifest = Manifest.model_validate(raw)
    except (ValueError, UnicodeDecodeError) as e:
        reason = "not JSON"
        if isinstance(e, ValidationError):
            reason = "; ".join(f"{'.'.join(map(str, x['loc']))}: {x['msg']}" for x in e.errors()[:3])
        raise BackupError(f"{path} is damaged or not a backup manifest ({reason})") from None
    for name, entry in manifest.files.items():
        if not _FILE_NAME.match(name):
            raise BackupError(f"{MANIFEST} names an unexpected file {name!r}")
        if not (src / name).is_file():
            raise BackupError(f"{name} is missing from the backup {src}")
        if _digest(src / name) != entry:
            raise BackupError(f"{name} does not match its checksum in {MANIFEST}: altered or damaged")
    needed = [SECRETS, *(f"db/{t.name}.jsonl" for t in manifest.tables)]
    for name in needed:
        if name not in manifest.files:
            raise BackupError(f"{MANIFEST} lists no {name}: the backup is incomplete")
    return manifest, raw


def _check_target(
    settings: Settings, manifest: Manifest, secrets_doc: Mapping[str, Any], force: bool
) -> None:
    """Refuse to replace files in use, or (without ``force``) files that exist already."""
    home = settings.home
    if TEMPORAL in manifest.files:
        if _temporal_listening(settings):
            raise BackupError(
                f"a Temporal server is listening on {settings.address}: stop the stack (asts up) "
                f"before restoring {home / TEMPORAL}"
            )
    for name in (TEMPORAL, PAPER):
        reason = _in_use(home / name) if name in manifest.files else None
        if reason:
            raise BackupError(f"{home / name} is in use ({reason}): stop the stack before restoring")
    wanted = [home / n for n in (TEMPORAL, PAPER) if n in manifest.files]
    wanted += [key_file_path(settings)] if "codec_keys" in secrets_doc else []
    wanted += [home / JWT_SECRET_FILE] if "jwt_secret" in secrets_doc else []
    wanted += [home / ADMIN_PASSWORD_FILE] if "admin_password" in secrets_doc else []
    there = [str(p) for p in wanted if p.exists()]
    if there and not force:
        raise BackupError(
            f"the target already has {', '.join(there)}: restore into a fresh home, or pass --force "
            "to replace them"
        )


def restore_backup(settings: Settings, src: Path, passphrase: str, *, force: bool) -> RestoreReport:
    """Restore the backup in ``src`` into the settings' database and home (blocking, like a backup)."""
    src = src.expanduser()
    if not src.is_dir():
        raise BackupError(f"{src} is not a directory")
    try:
        return _restore(settings, src, passphrase, force)
    except OSError as e:
        raise BackupError(f"the restore failed: {e}", code=1) from None


def _restore(settings: Settings, src: Path, passphrase: str, force: bool) -> RestoreReport:
    manifest, raw = verify_backup(src)
    secrets_doc, mac_key = _unseal((src / SECRETS).read_bytes(), passphrase)
    if not hmac.compare_digest(_mac(raw, mac_key), str(raw.get("mac", ""))):
        raise BackupError(f"{MANIFEST} was altered after the backup was made (its HMAC does not match)")
    home = settings.home
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    _check_target(settings, manifest, secrets_doc, force)
    url = settings.db_url
    report = RestoreReport(home=home, database=display_url(url))
    staged: dict[str, Path] = {}
    try:
        for name in (PAPER, TEMPORAL):  # copied first: the database is loaded only once they are here
            if name in manifest.files:
                staged[name] = home / f".{name}.restore-{token_hex(6)}"  # made O_EXCL
                _copy_sqlite(src / name, staged[name], live=False)
        report.rows = asyncio.run(_write_database(url, src, manifest, force))
        for name, path in staged.items():
            for suffix in ("-wal", "-shm", "-journal"):  # an old journal must not meet the new file
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(home / f"{name}{suffix}")
            os.replace(path, home / name)
            report.files.append(name)
    finally:
        for path in staged.values():
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
    files, report.notes = _restore_secrets(settings, secrets_doc)
    if TEMPORAL in report.files and settings.temporal_address and not _is_local(settings.address):
        report.notes.append(f"{TEMPORAL} is for the embedded stack; TEMPORAL_ADDRESS names another server")
    report.files += [Path(f).name for f in files]
    return report
