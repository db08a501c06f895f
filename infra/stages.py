"""Stages as `.chalice/config.json` defines them, and the names a deployed stage uses.

The resource prefix of a stage (`SOHO_RESOURCE_PREFIX`, stage value over the global one) is
the one the functions compute their table and queue names with (chalicelib/config.py), so the
template, the IAM policies and the node CLI all take it from here.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
API_HANDLER = "api_handler"


def config_path(project_dir: Path = ROOT) -> Path:
    return Path(project_dir) / ".chalice" / "config.json"


def chalice_config(project_dir: Path = ROOT) -> dict[str, Any]:
    return json.loads(config_path(project_dir).read_text(encoding="utf-8"))


def stage_names(config: dict[str, Any]) -> list[str]:
    return list(config.get("stages", {}))


def stage_environment(config: dict[str, Any], stage: str) -> dict[str, str]:
    """The environment variables Chalice gives every function of `stage` (global, then stage)."""
    if stage not in config.get("stages", {}):
        raise KeyError(f"no stage {stage!r} in .chalice/config.json (stages: {', '.join(stage_names(config))})")
    env = dict(config.get("environment_variables", {}))
    env.update(config["stages"][stage].get("environment_variables", {}))
    return {key: str(value) for key, value in env.items()}


def resource_prefix(config: dict[str, Any], stage: str) -> str:
    prefix = stage_environment(config, stage).get("SOHO_RESOURCE_PREFIX")
    if not prefix:
        raise KeyError(f"stage {stage!r} sets no SOHO_RESOURCE_PREFIX in .chalice/config.json")
    return prefix


def sender_email(config: dict[str, Any], stage: str) -> str:
    """R54: the address notices of `stage` are sent from (SOHO_SENDER_EMAIL, else the app's default).
    Its domain bounds the SES grant of the policies and the template's SenderEmailAddress."""
    from chalicelib.config import Settings
    return stage_environment(config, stage).get("SOHO_SENDER_EMAIL") or Settings().sender_email


def function_name(app_name: str, stage: str, function: str) -> str:
    """The Lambda function name, as `chalice deploy` names it: `<app>-<stage>` for the API
    handler, `<app>-<stage>-<handler>` for the others. The packaged template sets the same
    names, so log group ARNs in the policies are exact."""
    return f"{app_name}-{stage}" if function == API_HANDLER else f"{app_name}-{stage}-{function}"


def log_group_name(app_name: str, stage: str, function: str) -> str:
    return f"/aws/lambda/{function_name(app_name, stage, function)}"
