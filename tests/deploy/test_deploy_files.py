"""The deployment files, validated offline: schemas and linters, and what they cannot see.

`deploy/tools/lint` (run by `make lint`) checks each file against its schema or linter. These
tests add what a schema does not know: that references resolve (a service a compose service
waits for has a health check, a mounted file exists, a `_FILE` variable points into a mounted
secret), that every FOOTFALL_* variable is a setting, that every pod runs as non-root on a
read-only root file system with probes and resources, and that every metric the alert rules
and the dashboard use is one footfall exposes.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from starlette.testclient import TestClient

from footfall.settings import REGISTRY, Settings
from footfall.web.app import create_app
from tests.services import require_binary

ROOT = Path(__file__).parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "compose"
VENV_BIN = Path(sys.executable).parent
TOOLS = [VENV_BIN, VENV_BIN.parent / "tools"]

# Settings the SPEC defines that other work adds (the deployment files already use them).
UPCOMING = {
    "FOOTFALL_EVENTS_URL": "the ClickHouse event store (SPEC, command line: FOOTFALL_EVENTS_URL)",
}


def _known_variables() -> set[str]:
    names = {s.env_var for s in REGISTRY} | set(UPCOMING)
    secret = {s.env_var for s in REGISTRY if s.secret} | set(UPCOMING)
    return names | {f"{name}_FILE" for name in secret}


KNOWN = _known_variables()


def test_the_lint_script_passes() -> None:
    """Every validator of `make lint` (hadolint, compose and workflow schemas, actionlint,
    yamllint, kustomize + kubernetes-validate --strict, promtool, systemd-analyze)."""
    for tool in ("hadolint", "check-jsonschema", "actionlint", "yamllint", "kubectl"):
        require_binary(tool, also_in=TOOLS)
    require_binary("promtool", also_in=TOOLS)
    require_binary("systemd-analyze")
    result = subprocess.run(
        [str(DEPLOY / "tools" / "lint")],
        env={**os.environ, "VENV_BIN": str(VENV_BIN), "TOOLS_DIR": str(TOOLS[1])},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "deployment files: ok" in result.stdout


# -- compose ---------------------------------------------------------------------------------


def _compose(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((COMPOSE / name).read_text())
    return loaded


@pytest.mark.parametrize("name", ["compose.yaml", "compose.scale-out.yaml"])
def test_compose_references_resolve(name: str) -> None:
    doc = _compose(name)
    services: dict[str, Any] = doc["services"]
    for service_name, service in services.items():
        for dependency, condition in (service.get("depends_on") or {}).items():
            assert dependency in services, (service_name, dependency)
            if condition["condition"] == "service_healthy":
                check = services[dependency].get("healthcheck", {})
                assert check.get("test") and not check.get("disable"), (service_name, dependency)
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (COMPOSE / source).exists(), (service_name, source)
            else:
                assert source in doc["volumes"], (service_name, source)
        for secret in service.get("secrets", []):
            assert secret in doc["secrets"], (service_name, secret)
        for variable, value in (service.get("environment") or {}).items():
            if variable.startswith("FOOTFALL_"):
                assert variable in KNOWN, (service_name, variable)
            if variable.endswith("_FILE") and str(value).startswith("/run/secrets/"):
                assert str(value).removeprefix("/run/secrets/") in service["secrets"]
    # Every footfall server is probed by footfall itself, waits for its stores and keeps its
    # data on a volume of its own.
    servers = {
        n: s
        for n, s in services.items()
        if s["image"].startswith("${FOOTFALL_IMAGE") and "serve" in s.get("command", ["serve"])
    }
    assert servers
    data_volumes = []
    for service in servers.values():
        assert service["healthcheck"]["test"] == ["CMD", "footfall", "healthcheck"]
        assert service["read_only"] is True and service["cap_drop"] == ["ALL"]
        data_volumes += [v.split(":")[0] for v in service["volumes"] if v.endswith(":/data")]
    assert len(data_volumes) == len(set(data_volumes)) == len(servers)


def test_the_scale_out_stack_has_its_services_and_profiles() -> None:
    services = _compose("compose.scale-out.yaml")["services"]
    assert {
        "proxy",
        "migrate",
        "footfall-1",
        "footfall-2",
        "postgres",
        "clickhouse",
        "redis",
    } <= set(services)
    assert services["prometheus"]["profiles"] == services["grafana"]["profiles"] == ["monitoring"]
    assert services["staging-seed"]["profiles"] == ["staging"]
    assert services["footfall-1"]["depends_on"]["migrate"] == {
        "condition": "service_completed_successfully"
    }
    caddyfile = (COMPOSE / "Caddyfile").read_text()
    assert "footfall-1:8000 footfall-2:8000" in caddyfile and "health_uri /readyz" in caddyfile
    # The proxy's fixed address lies in the network footfall trusts for X-Forwarded-For.
    trusted = services["footfall-1"]["environment"]["FOOTFALL_TRUSTED_PROXIES"]
    address = services["proxy"]["networks"]["backend"]["ipv4_address"]
    assert (
        Settings(trusted_proxies=trusted)
        .trusted_proxy_networks[0]
        .overlaps(Settings(trusted_proxies=address).trusted_proxy_networks[0])
    )


def test_make_secrets_writes_private_files_and_never_replaces_one(tmp_path: Path) -> None:
    work = tmp_path / "compose"
    shutil.copytree(COMPOSE, work, ignore=shutil.ignore_patterns("secrets", ".env"))
    (work / ".env").write_text("POSTGRES_PASSWORD=pg-pass\nCLICKHOUSE_PASSWORD=ch-pass\n")
    subprocess.run([str(work / "make-secrets.sh")], check=True, capture_output=True, timeout=60)
    secrets_dir = work / "secrets"
    declared = {
        Path(s["file"]).name for s in _compose("compose.scale-out.yaml")["secrets"].values()
    }
    assert {p.name for p in secrets_dir.iterdir()} == declared
    for path in secrets_dir.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name
    assert (secrets_dir / "events_url").read_text().strip() == (
        "clickhouse://footfall:ch-pass@clickhouse:8123/footfall"
    )
    key = (secrets_dir / "secret_key").read_text()
    subprocess.run([str(work / "make-secrets.sh")], check=True, capture_output=True, timeout=60)
    assert (secrets_dir / "secret_key").read_text() == key


# -- Kubernetes ------------------------------------------------------------------------------

OVERLAYS = sorted(p.name for p in (DEPLOY / "kubernetes" / "overlays").iterdir())


def _render(overlay: str) -> list[dict[str, Any]]:
    kubectl = require_binary("kubectl", also_in=TOOLS)
    rendered = subprocess.run(
        [kubectl, "kustomize", str(DEPLOY / "kubernetes" / "overlays" / overlay)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    return [d for d in yaml.safe_load_all(rendered) if d]


def _pod_specs(docs: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    for doc in docs:
        kind, name = doc["kind"], doc["metadata"]["name"]
        if kind in ("StatefulSet", "Deployment", "Job"):
            yield f"{kind}/{name}", doc["spec"]["template"]
        elif kind == "CronJob":
            yield f"{kind}/{name}", doc["spec"]["jobTemplate"]["spec"]["template"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_manifests_are_valid_kubernetes(overlay: str, tmp_path: Path) -> None:
    validate = require_binary("kubernetes-validate", also_in=TOOLS)
    manifest = tmp_path / f"{overlay}.yaml"
    manifest.write_text(yaml.safe_dump_all(_render(overlay)))
    result = subprocess.run(
        [validate, "--strict", "--quiet", str(manifest)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_pod_is_locked_down_and_sized(overlay: str) -> None:
    docs = _render(overlay)
    pods = dict(_pod_specs(docs))
    assert pods
    for where, template in pods.items():
        spec = template["spec"]
        assert spec["securityContext"]["runAsNonRoot"] is True, where
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, where
        assert spec["automountServiceAccountToken"] is False, where
        mounts_of_secrets = {v["name"] for v in spec.get("volumes", []) if "secret" in v}
        for container in spec["containers"]:
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True, where
            assert context["allowPrivilegeEscalation"] is False, where
            assert context["capabilities"]["drop"] == ["ALL"], where
            assert container["resources"]["requests"] and container["resources"]["limits"]["memory"]
            assert container["image"].startswith("footfall"), where
            secret_paths = [
                m["mountPath"] for m in container["volumeMounts"] if m["name"] in mounts_of_secrets
            ]
            for variable in container.get("env", []):
                assert variable["name"] in KNOWN, (where, variable["name"])
                if variable["name"].endswith("_FILE"):
                    assert any(variable["value"].startswith(p + "/") for p in secret_paths), where
    config = next(d for d in docs if d["kind"] == "ConfigMap")
    assert set(config["data"]) <= KNOWN


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_services_budgets_and_autoscaler_find_the_server_pods(overlay: str) -> None:
    docs = _render(overlay)
    [server] = [d for d in docs if d["kind"] == "StatefulSet"]
    labels = server["spec"]["template"]["metadata"]["labels"]
    [container] = server["spec"]["template"]["spec"]["containers"]
    assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    ports = {p["name"] for p in container["ports"]}
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert container[probe]["httpGet"]["port"] in ports
    selects = [
        d["spec"]["selector"] if d["kind"] == "Service" else d["spec"]["selector"]["matchLabels"]
        for d in docs
        if d["kind"] in ("Service", "PodDisruptionBudget")
    ]
    assert len(selects) == 3
    for selector in selects:
        assert selector.items() <= labels.items()
    autoscalers = [d for d in docs if d["kind"] == "HorizontalPodAutoscaler"]
    if overlay == "single-node":
        assert not autoscalers and server["spec"]["replicas"] == 1  # one DuckDB writer
    else:
        [hpa] = autoscalers
        assert hpa["spec"]["scaleTargetRef"]["name"] == server["metadata"]["name"]
        assert "--workers" in container["args"]


# -- systemd ---------------------------------------------------------------------------------


def test_the_systemd_units_verify_and_are_hardened(tmp_path: Path) -> None:
    analyze = require_binary("systemd-analyze")
    stand_in = tmp_path / "footfall"
    stand_in.write_text("#!/bin/sh\n")
    stand_in.chmod(0o755)
    units = sorted((DEPLOY / "systemd").glob("*.service")) + sorted(
        (DEPLOY / "systemd").glob("*.timer")
    )
    for unit in units:
        text = unit.read_text().replace("/opt/footfall/bin/footfall", str(stand_in))
        (tmp_path / unit.name).write_text(text)
    result = subprocess.run(
        [analyze, "verify", "--man=no", *(f"./{u.name}" for u in units)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr
    service = (DEPLOY / "systemd" / "footfall.service").read_text()
    for line in (
        "User=footfall",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "CapabilityBoundingSet=",
        "SystemCallFilter=@system-service",
        "StateDirectory=footfall",
        "KillSignal=SIGTERM",
    ):
        assert f"\n{line}\n" in service, line
    timer = (DEPLOY / "systemd" / "footfall-backup.timer").read_text()
    assert "Persistent=true" in timer and (DEPLOY / "systemd" / "footfall-backup.service").exists()
    variables = set(
        re.findall(r"FOOTFALL_[A-Z_]+", (DEPLOY / "systemd" / "footfall.env").read_text())
    )
    variables |= set(re.findall(r"FOOTFALL_[A-Z_]+", service))
    assert variables <= KNOWN


# -- Prometheus and Grafana ------------------------------------------------------------------


def _exposed_metrics(settings: Settings) -> set[str]:
    token = "t" * 40
    with TestClient(create_app(settings.replace(metrics_token=token))) as client:
        client.get("/healthz")
        text = client.get("/metrics", headers={"authorization": f"Bearer {token}"}).text
    names: set[str] = set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            names.add(name)
            if kind == "counter":
                names.add(name.removesuffix("_total") + "_total")
            if kind == "histogram":
                names |= {f"{name}_bucket", f"{name}_sum", f"{name}_count"}
        elif line and not line.startswith("#"):
            names.add(re.split(r"[{ ]", line, maxsplit=1)[0])
    return names


def test_alert_rules_and_the_dashboard_use_only_metrics_footfall_exposes(
    settings: Settings,
) -> None:
    exposed = _exposed_metrics(settings)
    rules = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())
    expressions = [r["expr"] for g in rules["groups"] for r in g["rules"]]
    dashboard = json.loads((DEPLOY / "grafana" / "dashboards" / "footfall.json").read_text())
    expressions += [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    used = {m for e in expressions for m in re.findall(r"\bfootfall_[a-z_]+", e)}
    assert len(used) >= 15
    assert used - exposed == set()
    runbook = (ROOT / "docs" / "operations" / "incident-response.md").read_text()
    anchors = {
        re.sub(r"[^a-z0-9 -]", "", h.lower()).replace(" ", "-")
        for h in re.findall(r"^## (.+)$", runbook, re.M)
    }
    for group in rules["groups"]:
        for rule in group["rules"]:
            assert rule["labels"]["severity"] in ("warning", "critical")
            anchor = rule["annotations"]["runbook"].split("#", 1)[1]
            assert anchor in anchors, (rule["alert"], anchor)


# -- workflows -------------------------------------------------------------------------------


def test_the_ci_workflow_runs_what_ci_runs() -> None:
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "ci.yml").read_text())
    commands = [s.get("run", "") for job in workflow["jobs"].values() for s in job["steps"]]
    assert "bash .ci/run lint" in commands and "bash .ci/run test" in commands
    ci = (ROOT / ".ci" / "run").read_text()
    assert "lint) make lint" in ci and "make test" in ci
    release = (ROOT / ".github" / "workflows" / "release.yml").read_text()
    assert "PYTHON_DIGEST=" in release and "trivy" in release
    assert "startsWith(github.ref, 'refs/tags/v')" in release
