"""What every part of a backup shares: the error it raises, the manifest's models, base64."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class BackupError(Exception):
    """A backup or restore refused or failed, with the reason to show; ``code`` 2 for bad input, 1 for
    an unreachable or failing service."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


class FileEntry(BaseModel):
    """One file of a backup: its size and SHA-256."""

    model_config = ConfigDict(extra="forbid")
    size: int = Field(ge=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class TableEntry(BaseModel):
    """One table of a backup: its rows and columns, as written."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=r"^[a-z_][a-z0-9_]*$")
    rows: int = Field(ge=0)
    columns: list[str]


class Manifest(BaseModel):
    """What ``manifest.json`` says; ``mac`` is the HMAC-SHA256 of everything else in it."""

    model_config = ConfigDict(extra="forbid")
    format: Literal["asts-backup"]
    version: Literal[1]
    created_at: datetime
    asts_version: str
    alembic_revision: str
    backend: Literal["sqlite", "postgresql"]
    snapshot: str
    tables: list[TableEntry]
    files: dict[str, FileEntry]
    secrets: dict[str, str]  # what secrets.enc holds, and where each came from (no value)
    mac: str = ""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
