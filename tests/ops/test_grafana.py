"""The Grafana dashboard reads only metrics that exist (ours, Prometheus's own, or the Temporal
SDK's ``temporal_`` ones), from the data source the provisioning file defines."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from tests.ops.metric_names import PROMETHEUS_SERIES, read_by, registered

ROOT = Path(__file__).resolve().parents[2]
GRAFANA = ROOT / "deploy" / "grafana"
DASHBOARD = GRAFANA / "dashboards" / "asts.json"
SDK_PREFIX = "temporal_"  # the SDK's core names them; they exist only on a worker's SDK port


def _panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for p in panels:
        yield p
        yield from _panels(p.get("panels", []))


def _dashboard() -> dict[str, Any]:
    doc = json.loads(DASHBOARD.read_text())
    assert isinstance(doc, dict)
    return doc


def _datasource_uid() -> str:
    doc = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "prometheus.yml").read_text())
    (source,) = doc["datasources"]
    assert source["type"] == "prometheus" and source["url"] == "http://prometheus:9090"
    return str(source["uid"])


def test_every_panel_reads_metrics_that_exist() -> None:
    served = registered() | PROMETHEUS_SERIES
    exprs = 0
    for panel in _panels(_dashboard()["panels"]):
        for target in panel.get("targets", []):
            exprs += 1
            unknown = {n for n in read_by(target["expr"]) - served if not n.startswith(SDK_PREFIX)}
            assert not unknown, f"panel {panel['title']!r} reads metrics nothing serves: {unknown}"
    assert exprs >= 20


def test_every_panel_uses_the_provisioned_data_source() -> None:
    uid = _datasource_uid()
    assert uid == "prometheus"
    for panel in _panels(_dashboard()["panels"]):
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": uid}, panel["title"]
        assert all(t["datasource"]["uid"] == uid for t in panel["targets"]), panel["title"]


def test_the_dashboard_shows_what_operators_watch() -> None:
    exprs = " ".join(t["expr"] for p in _panels(_dashboard()["panels"]) for t in p.get("targets", []))
    for name in (
        "asts_cycles_total",
        "asts_cycle_duration_seconds_bucket",
        "asts_orders_total",
        "asts_fills_total",
        "asts_risk_rejections_total",
        "asts_breaker_headroom_ratio",
        "asts_kill_switch_engaged",
        "asts_hub_gate_open",
        "asts_llm_tokens_total",
        "asts_llm_cost_total",
        "asts_venue_errors_total",
        "asts_venue_request_duration_seconds_bucket",
        "asts_http_requests_total",
        "asts_http_request_seconds_bucket",
        "temporal_workflow_task_execution_latency_seconds_bucket",
        "temporal_activity_execution_failed_total",
        'up{job="asts-worker"}',
    ):
        assert name in exprs, name


def test_the_dashboards_provider_loads_the_mounted_directory() -> None:
    doc = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "asts.yml").read_text())
    (provider,) = doc["providers"]
    assert provider["type"] == "file" and provider["options"]["path"] == "/var/lib/grafana/dashboards"
    assert _dashboard()["uid"] == "asts"
