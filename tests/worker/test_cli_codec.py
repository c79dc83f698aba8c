"""`asts codec keygen|rotate`: the key file is created once, rotated in place, and no key is shown."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

from typer.testing import CliRunner

from worker.cli import app
from worker.codec import read_key_file


def test_keygen_then_rotate_keeps_every_key_and_prints_only_ids(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "codec-keys.json"
    made = CliRunner().invoke(app, ["codec", "keygen", "--file", str(path)])
    assert made.exit_code == 0, made.output
    first = read_key_file(path)
    assert f"wrote key {first.current}" in made.output and stat.S_IMODE(path.stat().st_mode) == 0o600
    again = CliRunner().invoke(app, ["codec", "keygen", "--file", str(path)])
    assert again.exit_code == 2 and "exists already" in again.output
    assert read_key_file(path) == first
    rotated = CliRunner().invoke(app, ["codec", "rotate", "--file", str(path)])
    assert rotated.exit_code == 0, rotated.output
    keys = read_key_file(path)
    assert keys.current != first.current and set(keys.keys) == {first.current, keys.current}
    assert f"current key {keys.current}; still decoding {first.current}" in rotated.output
    shown = made.output + rotated.output
    assert all(base64.b64encode(k).decode() not in shown for k in keys.keys.values())


def test_rotate_without_a_key_file_says_how_to_make_one(tmp_path: Path) -> None:
    run = CliRunner().invoke(app, ["codec", "rotate", "--home", str(tmp_path)])
    assert run.exit_code == 2 and "`asts codec keygen` creates one" in run.output
