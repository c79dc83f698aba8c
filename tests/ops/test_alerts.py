"""The Prometheus config and alert rules of deploy/prometheus/ are valid, every alert passes its
promtool unit tests (firing when it should, silent when it should not), and every metric a rule
reads is one the code serves."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.ops.metric_names import PROMETHEUS_SERIES, read_by, registered

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = ROOT / "deploy" / "prometheus"
RULES = PROMETHEUS / "alerts.yml"
TESTS = PROMETHEUS / "alerts.test.yml"
EXPECTED = {
    "KillSwitchEngaged",
    "BreakerTripped",
    "StrategyNotCycling",
    "OrderStuckUnknown",
    "VenueErrorRate",
    "ReconcileMismatch",
    "WorkerDown",
    "ApprovalNearTimeout",
}


def _rules() -> list[dict[str, object]]:
    doc = yaml.safe_load(RULES.read_text())
    return [rule for group in doc["groups"] for rule in group["rules"]]


def _promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("promtool is missing under CI (Debian: the prometheus package)")
        pytest.skip("promtool is not installed (Debian: the prometheus package)")
    return found


@pytest.mark.parametrize(
    "args",
    [
        ["check", "config", "deploy/prometheus/prometheus.yml"],
        ["check", "rules", "deploy/prometheus/alerts.yml"],
        ["test", "rules", "deploy/prometheus/alerts.test.yml"],
    ],
    ids=["check-config", "check-rules", "test-rules"],
)
def test_promtool_accepts_the_config_and_the_rules_pass_their_tests(args: list[str]) -> None:
    done = subprocess.run([_promtool(), *args], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_rules_are_the_alerts_asked_for_each_with_severity_summary_description_and_runbook() -> None:
    rules = _rules()
    assert {r["alert"] for r in rules} == EXPECTED
    for rule in rules:
        name = str(rule["alert"])
        labels = rule.get("labels") or {}
        annotations = rule.get("annotations") or {}
        assert isinstance(labels, dict) and isinstance(annotations, dict)
        assert labels.get("severity") in ("warning", "critical"), name
        assert annotations.get("summary") and annotations.get("description"), name
        assert annotations.get("runbook") == f"docs/troubleshooting.md#{name.lower()}", name


def test_every_alert_has_a_firing_and_a_silent_case() -> None:
    doc = yaml.safe_load(TESTS.read_text())
    assert doc["rule_files"] == ["alerts.yml"]
    firing: set[str] = set()
    silent: set[str] = set()
    for case in doc["tests"]:
        for check in case.get("alert_rule_test", []):
            (firing if check.get("exp_alerts") else silent).add(check["alertname"])
    assert firing == EXPECTED, f"no case where these fire: {EXPECTED - firing}"
    assert silent == EXPECTED, f"no case where these stay silent: {EXPECTED - silent}"


def test_every_metric_the_rules_read_is_served_by_the_code() -> None:
    served = registered() | PROMETHEUS_SERIES
    for rule in _rules():
        unknown = read_by(str(rule["expr"])) - served
        assert not unknown, f"{rule['alert']} reads metrics nothing serves: {unknown}"


def test_the_name_check_would_catch_a_renamed_metric() -> None:
    assert read_by('max by (hub_id) (asts_kill_switch_engaged{hub_id="x"}) == 1') == {
        "asts_kill_switch_engaged"
    }
    assert read_by("histogram_quantile(0.95, sum by (le) (rate(a_b_bucket[5m])))") == {"a_b_bucket"}
    assert "asts_kill_switch_engaged" in registered() and "asts_kill_switch_enabled" not in registered()
