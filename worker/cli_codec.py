"""`asts codec keygen|rotate`: the payload encryption key file (worker/codec.py).

Built by ``make_codec_app`` with the CLI's own helpers, so this module never imports
``worker.cli``. Keys are written to the file (mode 0600), never printed: only their ids are.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

Fail = Callable[..., NoReturn]
FileOpt = Annotated[
    Path | None,
    typer.Option("--file", help="the key file (default ASTS_CODEC_KEY_FILE or <home>/codec-keys.json)"),
]
HomeOpt = Annotated[Path | None, typer.Option("--home", help="state directory (default .asts or ASTS_HOME)")]


def make_codec_app(*, fail: Fail, console: Console) -> typer.Typer:
    """The ``asts codec`` command group."""
    codec_app = typer.Typer(help="Payload encryption keys: create the key file, rotate the current key.")

    def _path(file: Path | None, home: Path | None) -> Path:
        from worker.codec import key_file_path
        from worker.settings import Settings

        if file is not None:
            return file
        return key_file_path(Settings(home=home) if home is not None else Settings())

    @codec_app.command("keygen")
    def keygen(file: FileOpt = None, home: HomeOpt = None) -> None:
        """Create a key file with one new key (an existing file is never overwritten)."""
        from worker.codec import fresh_keys, write_key_file

        path = _path(file, home)
        keys = fresh_keys(str(path))
        try:
            write_key_file(path, keys, replace=False)
        except FileExistsError:
            fail(f"{path} exists already; `asts codec rotate` adds a key to it")
        console.print(f"wrote key {escape(keys.current)} to {escape(str(path))} (mode 0600)")

    @codec_app.command("rotate")
    def rotate(file: FileOpt = None, home: HomeOpt = None) -> None:
        """Add a new key and make it current; the older keys stay, so old payloads still decode.

        Restart the workers and the API afterwards (each reads the keys as it starts). Remove an
        old key only once no history that a worker or the Web UI reads still uses it.
        """
        from worker.codec import CodecKeysError, rotate_key_file

        path = _path(file, home)
        if not path.exists():
            fail(f"no key file at {path}; `asts codec keygen` creates one")
        try:
            keys = rotate_key_file(path)
        except CodecKeysError as e:
            fail(str(e))
        older = ", ".join(sorted(k for k in keys.keys if k != keys.current))
        console.print(f"current key {escape(keys.current)}; still decoding {escape(older)}")

    return codec_app
