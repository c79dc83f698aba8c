"""docker-compose.yml as production defaults: only the API is reachable from outside the host, the
Web UI decodes through the API's codec, and no secret is written in the file."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

COMPOSE = Path(__file__).resolve().parents[1] / "docker-compose.yml"
LOOPBACK = ("127.0.0.1", "::1", "[::1]", "localhost")
SECRET_NAME = re.compile(r"(PASSWORD|PWD|SECRET|API_KEY|CODEC_KEYS|DATABASE_URL)$", re.IGNORECASE)


def _services() -> dict[str, Any]:
    doc = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(doc, dict) and isinstance(doc.get("services"), dict)
    return doc["services"]


def host_ip(port: str | int | dict[str, Any]) -> str:
    """The host address a published port binds ("" for every interface), short or long syntax."""
    if isinstance(port, dict):
        return str(port.get("host_ip", ""))
    spec = str(port).split("/", 1)[0]
    if spec.startswith("["):  # [::1]:8000:8000
        return spec[: spec.index("]") + 1]
    parts = spec.split(":")
    return parts[0] if len(parts) == 3 else ""


def test_only_the_api_is_published_and_nothing_on_every_interface() -> None:
    services = _services()
    published = {name: [host_ip(p) for p in s.get("ports", [])] for name, s in services.items()}
    assert "ports" not in services["temporal"]  # gRPC stays on the compose network
    assert published["api"] == ["127.0.0.1"]
    for name, hosts in published.items():
        assert all(h in LOOPBACK for h in hosts), f"{name} publishes a port on every interface: {hosts}"
    assert host_ip("8000:8000") == "" and host_ip({"target": 80}) == ""  # the check itself can fail
    assert host_ip("127.0.0.1:1:2") == "127.0.0.1" and host_ip("[::1]:1:2") == "[::1]"


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {str(k): str(v) for k, v in env.items()}


def test_the_asts_services_run_in_production_and_the_ui_decodes_through_the_api() -> None:
    services = _services()
    for name in ("worker", "api"):
        env = _environment(services[name])
        assert env["ASTS_ENV"] == "production" and env["TEMPORAL_ADDRESS"] == "temporal:7233", name
        assert "asts.env" in services[name]["env_file"], name
    ui = _environment(services["temporal-ui"])
    assert ui["TEMPORAL_CODEC_ENDPOINT"].endswith("/codec")
    assert ui["TEMPORAL_CODEC_PASS_ACCESS_TOKEN"] == "true"


def test_no_secret_is_written_in_the_file() -> None:
    for name, service in _services().items():
        for key, value in _environment(service).items():
            if SECRET_NAME.search(key):
                assert value.startswith("${") and value.endswith("}"), f"{name}: {key} is a literal"
