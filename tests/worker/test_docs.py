"""The documentation agrees with the code: the settings table is the settings class's, every
environment variable the code reads is documented, every ``asts`` command shown parses with the
real CLI (its subcommands, options and arguments), and every relative link leads somewhere."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import typer
import typer.main

from worker.cli import app
from worker.settings_doc import PAGE, settings_docs, settings_table

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
CODE_DIRS = ("asts", "trading", "exchanges", "store", "activities", "workflows", "agents", "api", "worker")
ENV_VAR = re.compile(r"\b(?:ASTS|TEMPORAL)_[A-Z0-9_]*[A-Z0-9]\b")
# Prefixes the code builds names from (ASTS_EXCHANGE_<NAME>_API_KEY and the like), documented as
# patterns, and the names in code that only stand for such a pattern.
PATTERN_PREFIXES = ("ASTS_EXCHANGE_", "ASTS_LLM_", "ASTS_MAX_RUNNING_")
PLACEHOLDERS = {"ID": "1", "N": "2"}  # placeholders whose values are typed (a decision id is a number)
LINK = re.compile(r"\]\(([^)\s]+)\)")


def test_the_settings_table_is_generated_from_the_settings_class() -> None:
    text = PAGE.read_text()
    assert settings_table() in text, "docs/configuration.md is stale: run python -m worker.settings_doc"


def test_every_setting_has_a_description() -> None:
    missing = [d.name for d in settings_docs() if not d.description]
    assert not missing, f"settings without a comment above them in worker/settings.py: {missing}"


def _code_env_vars() -> set[str]:
    found: set[str] = set()
    for package in CODE_DIRS:
        for path in (ROOT / package).rglob("*.py"):
            found |= set(ENV_VAR.findall(path.read_text()))
    return found


def test_every_environment_variable_the_code_reads_is_documented() -> None:
    documented = (ROOT / "docs" / "configuration.md").read_text()
    missing = sorted(
        v
        for v in _code_env_vars()
        if f"`{v}`" not in documented
        and not (v.startswith(PATTERN_PREFIXES) and v.rstrip("_") + "_" in PATTERN_PREFIXES)
        and not re.fullmatch(r"ASTS_EXCHANGE_[A-Z]+_(API_KEY|SECRET|PASSWORD)", v)
    )
    assert not missing, f"read by the code, not in docs/configuration.md: {missing}"


def _commands(text: str) -> list[tuple[str, str]]:
    """Each ``asts ...`` command in a shell block: (the line, the command alone)."""
    out = []
    for block in re.findall(r"```(?:sh|bash|console)\n(.*?)```", text, re.S):
        for line in block.replace("\\\n", " ").splitlines():  # continued lines joined
            code = line.split(" #", 1)[0].strip().removesuffix("&").strip()
            for inner in re.findall(r"\$\((asts [^)]*)\)", code):  # $(asts token)
                out.append((line, inner))
            code = re.sub(r"\$\(asts [^)]*\)", "", code)
            for part in re.split(r"\s+(?:\||&&|/)\s+(?=asts\b)", code):
                start = re.search(r"(?:^|\s|\()asts\s", part)
                if start is None or "$(" in part[: start.start()]:
                    continue
                command = part[start.start() :].strip().lstrip("(")
                out.append((line, command.split(" | ", 1)[0].split(" && ", 1)[0].rstrip(")")))
    return out


def _concrete(command: str) -> list[str]:
    """A documented form made concrete: optional parts kept, the first of alternatives taken,
    placeholders left as they are (they stand for values)."""
    command = command.replace("…", "").replace("...", "")
    command = re.sub(r"\[([^\[\]]*)\]", r"\1", command)
    command = re.sub(r"\[([^\[\]]*)\]", r"\1", command)
    words = shlex.split(command)[1:]
    words = [w.split("|", 1)[0] if w.startswith("-") or "|" in w else w for w in words]
    return [PLACEHOLDERS.get(w, w) for w in words]


def _parse(args: list[str]) -> None:
    """Parse ``asts ARGS`` as the CLI would, down to the leaf command, without running it (raises
    a TyperException, typer's usage error, on an unknown command, option or missing argument)."""
    command: Any = typer.main.get_command(app)
    ctx = command.make_context("asts", list(args), resilient_parsing=False)
    while hasattr(command, "resolve_command"):  # a group: resolve its subcommand
        rest = [*getattr(ctx, "_protected_args", []), *ctx.args]
        if not rest:
            if getattr(command, "invoke_without_command", False):
                return  # a group that runs alone (asts news)
            raise AssertionError("a group without its subcommand")
        name, command, rest = command.resolve_command(ctx, rest)
        ctx = command.make_context(name or "", rest, parent=ctx, resilient_parsing=False)


DOC_COMMANDS = [(page.name, line, command) for page in PAGES for line, command in _commands(page.read_text())]


def test_the_docs_show_commands() -> None:
    assert len(DOC_COMMANDS) > 40  # the extraction works: a silent empty list would pass below


@pytest.mark.parametrize(
    ("page", "line", "command"), DOC_COMMANDS, ids=[f"{p}:{c[:60]}" for p, _, c in DOC_COMMANDS]
)
def test_every_documented_command_parses_with_the_cli(page: str, line: str, command: str) -> None:
    args = _concrete(command)
    try:
        _parse(args)
    except (typer.TyperException, AssertionError) as e:
        pytest.fail(f"{page}: `{line.strip()}` does not parse: {e}")


def _anchors(text: str) -> set[str]:
    anchors = set()
    fence = False
    for line in text.splitlines():
        if line.startswith("```"):
            fence = not fence
        elif not fence and (m := re.match(r"#{1,6} (.*)", line)):
            slug = re.sub(r"[^\w\- ]", "", m.group(1).lower()).replace(" ", "-")
            anchors.add(slug)
    return anchors


def test_every_relative_link_leads_to_a_file_and_heading_that_exist() -> None:
    broken = []
    for page in PAGES:
        for target in LINK.findall(page.read_text()):
            if re.match(r"[a-z]+:", target):
                continue
            path, _, anchor = target.partition("#")
            dest = (page.parent / path).resolve() if path else page
            if not dest.exists():
                broken.append(f"{page.name}: {target} (no such file)")
            elif anchor and dest.suffix == ".md" and anchor not in _anchors(dest.read_text()):
                broken.append(f"{page.name}: {target} (no such heading)")
    assert not broken, "\n".join(broken)


@pytest.mark.parametrize(
    "command",
    [
        "asts strategy nosuch",
        "asts up --no-such-option",
        "asts backup",
        "asts halt --all --wait",
        "asts news x y",
    ],
)
def test_a_command_the_cli_does_not_have_fails_the_check(command: str) -> None:
    with pytest.raises((typer.TyperException, AssertionError)):
        _parse(_concrete(command))


def test_every_alert_runbook_is_a_section_of_the_troubleshooting_page() -> None:
    import yaml

    rules = yaml.safe_load((ROOT / "deploy" / "prometheus" / "alerts.yml").read_text())
    anchors = _anchors((ROOT / "docs" / "troubleshooting.md").read_text())
    runbooks = {r["annotations"]["runbook"] for g in rules["groups"] for r in g["rules"] if "alert" in r}
    assert runbooks, "no alert rule found"
    missing = sorted(rb for rb in runbooks if rb.partition("#")[2] not in anchors)
    assert not missing, f"runbooks without their section in docs/troubleshooting.md: {missing}"
