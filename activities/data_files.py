"""Files named by requests (a backtest's ``csv_path``), confined to the data directory.

A request may only name a file under the data directory (``Settings.data_path``). The path is
resolved with its symlinks, so neither ``..`` nor a link inside the directory reaches out of it,
and a path outside gets one answer whether or not something exists there. The API checks it
when it takes the request, and the worker again before reading (it does not trust its input).
Files get there by upload (``POST /data/files``, what ``asts backtest --data FILE`` does).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from trading.errors import InvalidInput

OUTSIDE = "csv_path must name a file under the data directory"
UPLOADS = "uploads"


def confined_file(path: str, root: Path) -> Path:
    """The file ``path`` names (relative to ``root``, or absolute), resolved; InvalidInput unless
    it is a file under ``root``."""
    base = root.resolve()
    candidate = base / path  # an absolute path stays itself
    try:
        real = candidate.resolve(strict=True)
    except (OSError, RuntimeError, ValueError):  # missing, unreadable, a symlink loop, a NUL byte
        if not _inside(candidate, base):
            raise InvalidInput(OUTSIDE) from None
        raise InvalidInput(f"cannot read {path}: No such file or directory") from None
    if not real.is_relative_to(base):
        raise InvalidInput(OUTSIDE)
    if not real.is_file():
        raise InvalidInput(f"csv_path {path!r} is not a file")
    return real


def _inside(candidate: Path, base: Path) -> bool:
    """Whether ``candidate`` (which need not exist) resolves to a path under ``base``."""
    try:
        return candidate.resolve().is_relative_to(base)
    except (OSError, RuntimeError, ValueError):
        return False


def store_upload(root: Path, body: bytes, suffix: str = ".csv") -> str:
    """Keep an uploaded file under ``root/uploads`` by its SHA-256 (the same bytes are kept once);
    return the path a request names it by, relative to ``root``."""
    digest = hashlib.sha256(body).hexdigest()
    folder = root / UPLOADS
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{digest}{suffix}"
    if not target.is_file():
        # Written aside and renamed, so a reader never sees half a file.
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(body)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    return f"{UPLOADS}/{target.name}"
