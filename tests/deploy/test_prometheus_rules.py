"""deploy/prometheus/alerts.yml: valid rule groups on metrics footfall exposes.

promtool checks the file where it is installed; the schema check here runs everywhere.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from footfall.alerts.model import OPS_METRICS
from tests.services import require_binary

ROOT = Path(__file__).parents[2]
RULES = ROOT / "deploy" / "prometheus" / "alerts.yml"
METRICS_DOC = ROOT / "docs" / "metrics.md"
VENV_BIN = Path(sys.executable).parent
_DURATION = re.compile(r"^([0-9]+(ms|s|m|h|d|w|y))+$")
_SEVERITIES = {"info", "warning", "critical"}


def _rules() -> list[dict[str, Any]]:
    document = yaml.safe_load(RULES.read_text())
    assert set(document) == {"groups"}
    rules: list[dict[str, Any]] = []
    for group in document["groups"]:
        assert set(group) <= {"name", "interval", "rules", "limit"}
        assert isinstance(group["name"], str) and group["rules"]
        rules.extend(group["rules"])
    return rules


def test_every_rule_has_the_shape_prometheus_loads() -> None:
    names = set()
    for rule in _rules():
        assert set(rule) <= {"alert", "expr", "for", "keep_firing_for", "labels", "annotations"}
        assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", rule["alert"])
        assert rule["alert"] not in names
        names.add(rule["alert"])
        assert isinstance(rule["expr"], str) and rule["expr"].strip()
        assert rule["expr"].count("(") == rule["expr"].count(")")
        if "for" in rule:
            assert _DURATION.match(str(rule["for"]))
        labels = rule.get("labels", {})
        assert labels.get("severity") in _SEVERITIES
        assert all(isinstance(v, str) for v in labels.values())
        annotations = set(rule.get("annotations", {}))
        # What happened, and where to read what to do about it.
        assert "summary" in annotations and annotations & {"description", "runbook"}


def test_rules_use_only_metrics_footfall_documents() -> None:
    documented = set(re.findall(r"`((?:footfall|process)_[a-z0-9_]+)`", METRICS_DOC.read_text()))
    for rule in _rules():
        for name in re.findall(r"\b((?:footfall|process)_[a-z0-9_]+)", rule["expr"]):
            base = re.sub(r"_(bucket|sum|count)$", "", name)
            assert name in documented or base in documented, f"{rule['alert']}: {name}"


def test_every_ops_alert_has_a_prometheus_equivalent() -> None:
    mirrored = {rule.get("labels", {}).get("footfall_alert") for rule in _rules()}
    assert {f"ops:{name}" for name in OPS_METRICS} <= mirrored


def test_promtool_accepts_the_rules() -> None:
    # `make lint` fetches promtool into the virtualenv's tools when the system has none.
    promtool = require_binary("promtool", also_in=[VENV_BIN, VENV_BIN.parent / "tools"])
    result = subprocess.run(
        [promtool, "check", "rules", str(RULES)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
