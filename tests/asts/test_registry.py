"""Loading strategy types and analysts: files, packages, the refusals that name file and line, versions."""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from asts.loader import CHECKS_VERSION
from asts.registry import CheckCache, StrategyLoadError, code_version, load, parse_paths
from tests.asts.samples import CHECK_CACHE, MOMENTUM, package_on_path
from trading.errors import UnknownStrategyType

GOOD = MOMENTUM


# The line of ``class Momentum`` in a file written from GOOD.
LINE = textwrap.dedent(GOOD).splitlines().index("class Momentum(Strategy):") + 1
# Check verdicts shared by the tests here (the built-ins are checked once, not per test).
CACHE = CHECK_CACHE


def write(directory: Path, name: str, text: str) -> Path:
    f = directory / name
    f.write_text(textwrap.dedent(text))
    return f


def refusal(directory: Path) -> StrategyLoadError:
    with pytest.raises(StrategyLoadError) as e:
        load([directory], entry_points=False, cache_dir=CACHE)
    return e.value


def test_a_strategy_file_in_a_strategy_directory_is_loaded_beside_the_built_ins(tmp_path: Path) -> None:
    f = write(tmp_path, "momentum.py", GOOD)
    reg = load([tmp_path], entry_points=False, cache_dir=CACHE)
    t = reg.get("momentum")
    assert {"sma_cross", "rsi_reversion", "agent", "momentum"} <= set(reg.types)
    assert (t.source, t.origin, t.line) == ("file", str(f), LINE)
    assert t.version == code_version(f.read_text()) and t.description.startswith("Long while")
    assert t.params_schema()["properties"]["n"]["description"] == "bars of momentum"
    assert reg.get("sma_cross").source == "built-in"


def test_files_starting_with_an_underscore_or_test_are_not_strategies(tmp_path: Path) -> None:
    write(tmp_path, "_helpers.py", "raise RuntimeError('never imported')\n")
    write(tmp_path, "test_momentum.py", "raise RuntimeError('never imported')\n")
    assert set(load([tmp_path], entry_points=False, check=False).types) == {
        "sma_cross",
        "rsi_reversion",
        "agent",
    }


def test_a_syntax_error_stops_the_load_with_its_file_and_line(tmp_path: Path) -> None:
    f = write(tmp_path, "broken.py", "x = 1\n\ndef oops(:\n    pass\n")
    e = refusal(tmp_path)
    assert (e.file, e.line) == (str(f), 3) and "SyntaxError" in e.reason


def test_an_import_error_names_the_line_of_the_import(tmp_path: Path) -> None:
    f = write(tmp_path, "needs.py", "import os\nimport not_a_module_anywhere\n")
    e = refusal(tmp_path)
    assert (e.file, e.line) == (str(f), 2) and "not_a_module_anywhere" in e.reason
    assert str(e).startswith(f"{f}:2: ModuleNotFoundError")


def test_a_strategy_without_a_signal_method_is_refused_at_its_class(tmp_path: Path) -> None:
    write(tmp_path, "half.py", GOOD.replace("def signal(", "def signals("))
    e = refusal(tmp_path)
    assert e.line == LINE and "has no signal() method" in e.reason


def test_a_params_model_without_defaults_is_refused(tmp_path: Path) -> None:
    write(tmp_path, "nodefault.py", GOOD.replace("n: Int = Field(default=10, ge=1,", "n: Int = Field(ge=1,"))
    e = refusal(tmp_path)
    assert "bad params model" in e.reason and e.line == LINE


def test_a_params_model_that_is_not_pydantic_is_refused(tmp_path: Path) -> None:
    write(
        tmp_path,
        "notpydantic.py",
        GOOD.replace("    params_model = MomentumParams", "    params_model = dict"),
    )
    assert "params_model must be a pydantic model" in refusal(tmp_path).reason


def test_a_duplicate_name_names_both_places(tmp_path: Path) -> None:
    write(tmp_path, "a.py", GOOD)
    b = write(tmp_path, "b.py", GOOD)
    e = refusal(tmp_path)
    assert (
        e.file == str(b) and "duplicate strategy name 'momentum'" in e.reason and f"a.py:{LINE}" in e.reason
    )


def test_a_built_in_name_cannot_be_taken(tmp_path: Path) -> None:
    write(tmp_path, "mine.py", GOOD.replace('name = "momentum"', 'name = "sma_cross"'))
    assert "duplicate strategy name 'sma_cross'" in refusal(tmp_path).reason


def test_a_bad_name_is_refused(tmp_path: Path) -> None:
    write(tmp_path, "mine.py", GOOD.replace('name = "momentum"', 'name = "Momentum Two"'))
    assert "lower_snake_case" in refusal(tmp_path).reason


def test_a_file_with_neither_strategy_nor_analyst_is_refused(tmp_path: Path) -> None:
    f = write(tmp_path, "empty.py", "X = 1\n")
    e = refusal(tmp_path)
    assert e.file == str(f) and "defines no strategy" in e.reason


def test_a_leaking_strategy_is_refused_at_load_with_the_check_s_finding(tmp_path: Path) -> None:
    leaky = GOOD.replace("long=bars.close > before", "long=bars.close > bars.close.mean()")
    write(tmp_path, "leaky.py", leaky)
    e = refusal(tmp_path)
    assert "strategy 'momentum' refused: look-ahead check failed at bar" in e.reason and e.line == LINE


def test_a_missing_strategy_directory_is_an_error_not_an_empty_set(tmp_path: Path) -> None:
    e = refusal(tmp_path / "nowhere")
    assert "no such strategy directory" in e.reason


def test_check_verdicts_are_cached_by_code_version(tmp_path: Path) -> None:
    f = write(tmp_path, "momentum.py", GOOD)
    cache_dir = tmp_path / "cache"
    cache_dir.mkdir()
    # The built-ins' verdicts (checked once, in the shared cache) so only the new file is checked here.
    for t in load([], entry_points=False, cache_dir=CACHE).types.values():
        name = f"check-{t.version[7:]}-{CHECKS_VERSION}.json"
        shutil.copy(CACHE / name, cache_dir / name)
    version = code_version(f.read_text())[7:]
    assert not (cache_dir / f"check-{version}-1.json").exists()
    load([tmp_path], entry_points=False, cache_dir=cache_dir)
    assert (cache_dir / f"check-{version}-1.json").is_file()
    assert CheckCache(cache_dir).get(f"{version}-1") == ""  # a pass, recalled without checking again


def test_a_changed_file_is_a_new_version_and_the_old_one_still_runs_from_its_recorded_code(
    tmp_path: Path,
) -> None:
    f = write(tmp_path, "momentum.py", GOOD)
    old = load([tmp_path], entry_points=False, cache_dir=CACHE).get("momentum")
    flipped = "long=bars.close < before, flat=bars.close > before"
    f.write_text(textwrap.dedent(GOOD).replace("long=bars.close > before, flat=bars.close < before", flipped))
    reg = load([tmp_path], entry_points=False, cache_dir=CACHE)
    new = reg.get("momentum")
    assert new.version != old.version
    pinned = reg.pinned("momentum", old.version, old.code)
    assert pinned.version == old.version and pinned.cls is not new.cls
    from asts.checks import check_series
    from asts.engine import targets_of

    bars = check_series().window(0, 300)
    assert (targets_of(pinned, bars) == targets_of(old, bars)).all()
    assert not (targets_of(new, bars) == targets_of(old, bars)).all()
    assert reg.pinned("momentum", old.version, old.code) is pinned  # built once
    with pytest.raises(UnknownStrategyType, match="is not recorded"):
        reg.pinned("momentum", "sha256:0000000000000000", None)


def test_strategy_paths_are_split_on_the_os_path_separator() -> None:
    assert parse_paths("") == []
    assert parse_paths("/a:/b") == [Path("/a"), Path("/b")]


@pytest.fixture
def installed_package(tmp_path: Path) -> Iterator[Path]:
    with package_on_path(tmp_path) as where:
        yield where


def test_an_installed_package_s_entry_points_bring_a_strategy_and_an_analyst(installed_package: Path) -> None:
    reg = load([], cache_dir=CACHE)
    t = reg.get("pkg_momentum")
    assert t.source == "package" and t.origin.endswith("asts_demo_pkg/__init__.py")
    a = reg.analyst("always_bullish")
    assert a.source == "package" and a.description == "Says buy, whatever it sees."
