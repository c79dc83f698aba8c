"""docker-compose.yml, the Dockerfile and deploy/ as the production stack needs them, checked without
Docker: the compose file is valid Compose after interpolation, starts in the right order, publishes
nothing beyond loopback, holds no secret, and mounts only files the repository has; the image
installs the locked versions of every runtime package and runs as a non-root user.

compose-spec.json beside this file is the Compose Specification's JSON schema, vendored unchanged
from https://github.com/compose-spec/compose-spec (schema/compose-spec.json at commit
a08f8d51631b7127ddac3d2c65537db429d0f1d0, 2025-10-21). Copyright 2020 The Compose Specification
Authors, licensed under the Apache License, Version 2.0 (https://www.apache.org/licenses/LICENSE-2.0).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
SCHEMA = Path(__file__).with_name("compose-spec.json")
ALERTMANAGER = ROOT / "deploy" / "alertmanager" / "alertmanager.yml"
TEMPORAL_DYNAMIC_CONFIG = ROOT / "deploy" / "temporal" / "dynamicconfig"

# What .env would hold: values for every variable the file interpolates.
TEST_ENV = {
    "POSTGRES_PASSWORD": "pg-test-password",
    "GRAFANA_ADMIN_PASSWORD": "grafana-test-password",
    "ALERTMANAGER_WEBHOOK_URL": "https://alerts.example.com/hook",
    "ASTS_PUBLIC_HOST": "asts.example.com",
    "ASTS_PUBLIC_API_URL": "https://asts.example.com",
}
ONE_SHOTS = {"temporal-schema", "temporal-namespace", "migrate"}
SECRET_KEY = re.compile(r"(PASSWORD|PWD|SECRET|TOKEN|API_KEY|CODEC_KEYS|DATABASE_URL|WEBHOOK_URL)$", re.I)
VARIABLE = re.compile(
    r"\$(?:\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}"
    r"|(?P<plain>[A-Za-z_][A-Za-z0-9_]*))"
)


class MissingVariable(Exception):
    """A ``${VAR:?message}`` whose variable is unset, as compose refuses it."""


def interpolate(value: str, env: dict[str, str]) -> str:
    """``value`` with compose's ``$VAR``, ``${VAR}``, ``${VAR:-d}``, ``${VAR-d}``, ``${VAR:?m}``,
    ``${VAR?m}``, ``${VAR:+a}`` substituted from ``env`` (``$$`` is a literal dollar)."""

    def one(match: re.Match[str]) -> str:
        name = match["braced"] or match["plain"]
        op, arg = match["op"], match["arg"] or ""
        present = name in env
        set_ = present and env[name] != ""
        if op in (":-", "-"):
            return env[name] if (set_ if op == ":-" else present) else arg
        if op in (":?", "?"):
            if not (set_ if op == ":?" else present):
                raise MissingVariable(f"{name}: {arg}")
            return env[name]
        if op == ":+":
            return arg if set_ else ""
        return env.get(name, "")

    parts = value.split("$$")
    return "$".join(VARIABLE.sub(one, part) for part in parts)


def interpolated(node: Any, env: dict[str, str]) -> Any:
    """The parsed compose document with every string value interpolated (keys stay as written)."""
    if isinstance(node, dict):
        return {k: interpolated(v, env) for k, v in node.items()}
    if isinstance(node, list):
        return [interpolated(v, env) for v in node]
    return interpolate(node, env) if isinstance(node, str) else node


@cache
def raw() -> dict[str, Any]:
    doc = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(doc, dict)
    return doc


@cache
def compose() -> dict[str, Any]:
    return interpolated(raw(), TEST_ENV)


def services() -> dict[str, dict[str, Any]]:
    return compose()["services"]


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def duration_s(text: str) -> float:
    """A compose duration ("1m30s", "60s", "500ms") in seconds."""
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001, "us": 1e-6}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|us|h|m|s)", text)
    assert parts and "".join(n + u for n, u in parts) == text, f"not a duration: {text}"
    return sum(float(n) * units[u] for n, u in parts)


def host_ip(port: str | int | dict[str, Any]) -> str:
    """The host address a published port binds ("" for every interface), short or long syntax."""
    if isinstance(port, dict):
        return str(port.get("host_ip", ""))
    spec = str(port).split("/", 1)[0]
    if spec.startswith("["):  # [::1]:8000:8000
        return spec[: spec.index("]") + 1]
    parts = spec.split(":")
    return parts[0] if len(parts) == 3 else ""


def bind_mounts(service: dict[str, Any]) -> list[tuple[str, str]]:
    """(host path, container path) of the service's bind mounts; named volumes are left out."""
    mounts = []
    for volume in service.get("volumes", []):
        if isinstance(volume, dict):
            if volume.get("type") == "bind":
                mounts.append((volume["source"], volume["target"]))
            continue
        source, target = volume.split(":")[:2]
        if source.startswith((".", "/", "~")):
            mounts.append((source, target))
    return mounts


def depends(service: dict[str, Any]) -> dict[str, str]:
    """The services this one waits for, with the condition (short syntax: service_started)."""
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):
        return dict.fromkeys(deps, "service_started")
    return {name: spec.get("condition", "service_started") for name, spec in deps.items()}


# --- the compose file -------------------------------------------------------------------------


def test_the_interpolation_follows_compose() -> None:
    env = {"A": "a", "E": ""}
    assert interpolate("${A}-${B:-b}-${E:-e}-${E-e}-${A:+x}-${B:+x}-$A-$$A", env) == "a-b-e--x--a-$A"
    with pytest.raises(MissingVariable, match="E: say"):
        interpolate("${E:?say}", env)


def test_compose_refuses_to_start_without_its_secrets() -> None:
    for name in ("POSTGRES_PASSWORD", "GRAFANA_ADMIN_PASSWORD"):
        env = {k: v for k, v in TEST_ENV.items() if k != name}
        with pytest.raises(MissingVariable, match=name):
            interpolated(raw(), env)


def test_the_file_validates_against_the_compose_specification() -> None:
    validator = jsonschema_rs.validator_for(json.loads(SCHEMA.read_text()))
    errors = [f"{'/'.join(map(str, e.instance_path))}: {e.message}" for e in validator.iter_errors(compose())]
    assert errors == []
    wrong = {"services": {"x": {"image": "a:1", "depends_on": {"y": {"condition": "service_done"}}}}}
    assert not validator.is_valid(wrong)  # the check itself can fail


def test_no_image_is_development_only_and_every_image_is_pinned() -> None:
    images = {name: s["image"] for name, s in services().items() if "image" in s}
    assert {name for name, s in services().items() if "image" not in s} == {"migrate", "worker", "api"}
    for name, image in images.items():
        assert "auto-setup" not in image, f"{name}: {image} is Temporal's development-only image"
        tag = image.partition(":")[2]
        assert re.fullmatch(r"v?\d+\.\d+(\.\d+)?", tag), f"{name}: {image} is not pinned to a version"
    # admin-tools migrates the schema to what the server of its own version expects: both move together.
    server = {i.partition(":")[2] for i in images.values() if i.startswith("temporalio/server:")}
    tools = {i.partition(":")[2] for i in images.values() if i.startswith("temporalio/admin-tools:")}
    assert len(server) == 1 and tools == server, f"temporalio/server {server}, admin-tools {tools}"


def test_every_published_port_binds_loopback_and_temporal_grpc_is_not_published() -> None:
    for name, service in services().items():
        for port in service.get("ports", []):
            assert host_ip(port) == "127.0.0.1", f"{name} publishes {port} beyond loopback"
    assert "ports" not in services()["temporal"] and "ports" not in services()["worker"]
    assert services()["api"]["ports"] == ["127.0.0.1:8000:8000"]
    assert host_ip("8000:8000") == "" and host_ip({"target": 80}) == ""  # the check itself can fail
    assert host_ip("[::1]:1:2") == "[::1]" and host_ip({"host_ip": "127.0.0.1"}) == "127.0.0.1"


def test_the_stack_starts_in_order() -> None:
    s = services()
    done = "service_completed_successfully"
    assert depends(s["temporal-schema"]) == {"db": "service_healthy"}
    assert depends(s["temporal"]) == {"temporal-schema": done}
    assert depends(s["temporal-namespace"]) == {"temporal": "service_healthy"}
    assert depends(s["migrate"]) == {"db": "service_healthy"}
    for name in ("worker", "api"):
        assert depends(s[name]) == {"migrate": done, "temporal-namespace": done}, name
    assert depends(s["temporal-ui"]) == {"temporal": "service_healthy"}
    for name in ("db", "temporal", "api"):
        assert s[name]["healthcheck"]["test"], f"{name} has no healthcheck"
    assert "/health" in " ".join(s["api"]["healthcheck"]["test"])
    assert "pg_isready" in " ".join(s["db"]["healthcheck"]["test"])


def test_services_restart_and_one_shot_jobs_do_not() -> None:
    for name, service in services().items():
        expected = "no" if name in ONE_SHOTS else "unless-stopped"
        assert service.get("restart") == expected, name
    assert services()["migrate"]["command"] == ["alembic", "-c", "alembic.ini", "upgrade", "head"]


def test_workers_scale_out_with_metrics_on_the_compose_network_and_time_to_finish_activities() -> None:
    worker = services()["worker"]
    env = environment(worker)
    assert worker["deploy"]["replicas"] == 2
    assert (env["ASTS_WORKER_METRICS_PORT"], env["ASTS_WORKER_SDK_METRICS_PORT"]) == ("9464", "9465")
    # Every interface of the container, so that Prometheus's container reaches them.
    assert env["ASTS_WORKER_METRICS_HOST"] == "0.0.0.0"  # noqa: S104
    assert {"9464", "9465"} <= {str(p) for p in worker["expose"]}
    assert duration_s(worker["stop_grace_period"]) >= 60
    assert duration_s("1m30s") == 90 and duration_s("500ms") == 0.5


def test_the_asts_services_run_in_production_and_the_ui_decodes_through_the_api() -> None:
    for name in ("migrate", "worker", "api"):
        service = services()[name]
        env = environment(service)
        assert env["ASTS_ENV"] == "production" and env["TEMPORAL_ADDRESS"] == "temporal:7233", name
        assert service["env_file"] == ["asts.env"] and service["build"] == ".", name
        assert "asts-state:/var/lib/asts" in service["volumes"], name
    ui = environment(services()["temporal-ui"])
    assert ui["TEMPORAL_CODEC_ENDPOINT"] == "https://asts.example.com/codec"
    assert ui["TEMPORAL_CODEC_PASS_ACCESS_TOKEN"] == "true"
    assert ui["TEMPORAL_DISABLE_WRITE_ACTIONS"] == "true"


def test_no_secret_is_written_in_the_file() -> None:
    for name, service in raw()["services"].items():
        for key, value in environment(service).items():
            if SECRET_KEY.search(key) and value not in ("true", "false"):  # a flag is no secret
                # From .env, required or plain: never a literal, never a default to fall back to.
                assert re.fullmatch(r"\$\{[A-Z_]+(:?\?[^}]*)?\}", value), f"{name}: {key}={value}"
    text = COMPOSE.read_text()
    assert not re.search(r"://[^/\s:@]+:[^/\s@$<]+@", text), "a URL with credentials"
    assert not re.search(r"(?i)(--password|-pw)[ =]", text), "a password on a command line"


def test_every_mounted_file_is_in_the_repository() -> None:
    mounts = {(n, src, dst) for n, s in services().items() for src, dst in bind_mounts(s)}
    for name, source, _ in mounts:
        assert source.startswith("./"), f"{name}: {source} is not relative to the repository"
    missing = sorted(f"{name}: {source}" for name, source, _ in mounts if not (ROOT / source).exists())
    assert not missing, f"mounted but not in the repository: {missing}"
    targets = {(n, src.rstrip("/"), dst) for n, src, dst in mounts}
    assert ("prometheus", "./deploy/prometheus", "/etc/prometheus") in targets
    assert ("grafana", "./deploy/grafana/provisioning", "/etc/grafana/provisioning") in targets
    assert ("grafana", "./deploy/grafana/dashboards", "/var/lib/grafana/dashboards") in targets
    alertmanager_config = "/etc/alertmanager/alertmanager.yml"
    assert ("alertmanager", "./deploy/alertmanager/alertmanager.yml", alertmanager_config) in targets
    assert "configs" not in compose()  # Prometheus's config is the mounted file, not inline


def test_temporal_reads_its_dynamic_config_from_the_mounted_directory() -> None:
    temporal = services()["temporal"]
    path = environment(temporal)["DYNAMIC_CONFIG_FILE_PATH"]
    source = dict((dst, src) for src, dst in bind_mounts(temporal))["/etc/temporal/config/dynamicconfig"]
    assert path.startswith("/etc/temporal/config/dynamicconfig/")
    assert (ROOT / source / Path(path).name).is_file()


def test_grafana_takes_its_password_from_env_and_calls_nowhere() -> None:
    env = environment(raw()["services"]["grafana"])
    assert env["GF_SECURITY_ADMIN_PASSWORD"].startswith("${GRAFANA_ADMIN_PASSWORD:?")
    assert env["GF_AUTH_ANONYMOUS_ENABLED"] == "false"
    for key in (
        "GF_ANALYTICS_REPORTING_ENABLED",
        "GF_ANALYTICS_CHECK_FOR_UPDATES",
        "GF_ANALYTICS_CHECK_FOR_PLUGIN_UPDATES",
        "GF_NEWS_NEWS_FEED_ENABLED",
    ):
        assert env[key] == "false", key
    assert env["GF_PLUGINS_PREINSTALL_DISABLED"] == "true"


def test_the_scripts_the_one_shot_jobs_run_are_valid_shell() -> None:
    for name in ("temporal-schema", "temporal-namespace"):
        (source, target), *_ = bind_mounts(services()[name])
        assert services()[name]["entrypoint"] == ["sh", target], name
        subprocess.run(["sh", "-n", ROOT / source], check=True)


# --- deploy/ -----------------------------------------------------------------------------------


def test_the_temporal_dynamic_config_parses() -> None:
    files = sorted(TEMPORAL_DYNAMIC_CONFIG.glob("*.yaml"))
    assert files
    for file in files:
        doc = yaml.safe_load(file.read_text())
        assert isinstance(doc, dict) and doc, file.name
        for key, values in doc.items():
            assert isinstance(values, list) and all("value" in v for v in values), f"{file.name}: {key}"
    limit = yaml.safe_load((TEMPORAL_DYNAMIC_CONFIG / "production.yaml").read_text())["limit.maxIDLength"]
    assert limit[0]["value"] <= 255  # PostgreSQL's schema keeps ids in VARCHAR(255)


def test_alertmanager_routes_every_alert_to_a_webhook_whose_url_is_a_compose_secret() -> None:
    config = yaml.safe_load(ALERTMANAGER.read_text())
    receivers = {r["name"]: r for r in config["receivers"]}
    route = config["route"]
    assert route["receiver"] in receivers
    assert all(r["receiver"] in receivers for r in route.get("routes", []))
    assert "alertname" in route["group_by"]
    assert 1 * 3600 <= duration_s(route["repeat_interval"]) <= 24 * 3600
    hooks = [h for r in receivers.values() for h in r.get("webhook_configs", [])]
    assert hooks and all("url" not in h for h in hooks)  # the URL is a secret: never in the file
    alertmanager = services()["alertmanager"]
    for hook in hooks:
        secret = hook["url_file"].removeprefix("/run/secrets/")
        assert secret in alertmanager["secrets"] and secret in compose()["secrets"]
    assert compose()["secrets"]["alertmanager-webhook-url"] == {"environment": "ALERTMANAGER_WEBHOOK_URL"}


@pytest.mark.skipif(shutil.which("amtool") is None, reason="amtool (Debian: prometheus-alertmanager) absent")
def test_amtool_accepts_the_alertmanager_config() -> None:
    amtool = shutil.which("amtool") or "amtool"
    subprocess.run([amtool, "check-config", ALERTMANAGER], check=True, capture_output=True, timeout=60)


# --- the Dockerfile ----------------------------------------------------------------------------


def instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Dockerfile, continuation lines joined, comments dropped."""
    lines = [line for line in path.read_text().splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    return [
        (word.upper(), rest.strip())
        for word, _, rest in (line.strip().partition(" ") for line in joined.splitlines())
        if word
    ]


def final_stage() -> list[tuple[str, str]]:
    steps = instructions(ROOT / "Dockerfile")
    last = max(i for i, (op, _) in enumerate(steps) if op == "FROM")
    return steps[last:]


def copies(steps: list[tuple[str, str]]) -> list[list[str]]:
    """The sources of each COPY that reads the build context (not another stage)."""
    result = []
    for op, args in steps:
        if op != "COPY" or "--from=" in args:
            continue
        words = json.loads(args) if args.startswith("[") else args.split()
        words = [w for w in words if not w.startswith("--")]
        result.append(words[:-1])
    return result


def test_the_dockerfile_copies_only_what_exists() -> None:
    ignored = {p.strip() for p in (ROOT / ".dockerignore").read_text().splitlines()}
    for sources in copies(instructions(ROOT / "Dockerfile")):
        for source in sources:
            assert (ROOT / source).exists(), f"COPY {source}: not in the repository"
    assert {"asts.env", ".env", ".venv"} <= ignored  # secrets and local state stay out of the context


def test_the_image_has_every_runtime_package_and_none_of_the_rest() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = {p.rstrip("*") for p in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]}
    copied = {source.rstrip("/") for sources in copies(final_stage()) for source in sources}
    missing = packages - copied
    assert not missing, f"runtime packages not copied into the image: {sorted(missing)}"
    # The bundled data the code reads, the migrate job's config, the readme the build needs.
    assert {"data", "alembic.ini", pyproject["project"]["readme"], "requirements.lock"} <= copied
    assert not copied & {"bench", "tests", "."}


def test_the_image_installs_the_locked_versions_and_runs_as_a_non_root_user() -> None:
    stage = final_stage()
    installs = [args for op, args in stage if op == "RUN" and "pip install" in args]
    assert installs and all(re.search(r"(-c|--constraint)[ =]requirements\.lock\b", a) for a in installs)
    users = [args for op, args in stage if op == "USER"]
    assert users and users[-1].split(":")[0] not in {"root", "0"}
    for op, args in instructions(ROOT / "Dockerfile"):
        if op == "FROM":
            image = args.split()[0]
            assert re.search(r":v?\d+\.\d+", image) and "latest" not in image, image
