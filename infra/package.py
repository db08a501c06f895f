"""`make package`: the AWS SAM/CloudFormation template of each stage, merged, checked and linted.

    python -m infra.package [--stage prod] [--out build] [--no-lint]

For each stage (all of `.chalice/config.json` by default): reads the app's functions in the
stage's environment (infra/appinfo.py), writes the merge template (infra/template.py) to
`build/<stage>-merge-template.json`, runs `chalice package --stage <stage> --merge-template ...
build/<stage>`, checks that every SQS event source reports batch item failures and reads a queue
the template creates, and runs cfn-lint on `build/<stage>/sam.json` (errors fail; warnings print).

`chalice package` runs `pip download` for Lambda (manylinux) wheels. When `build/wheelhouse`
exists (`make wheelhouse`, or `python -m infra.wheelhouse`), pip also looks there; with
`PIP_NO_INDEX=1` it looks only there, so packaging works offline.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Optional

from .appinfo import LambdaFunction, for_stage, stage_process_environment
from .stages import ROOT, chalice_config, resource_prefix, sender_email, stage_names
from .template import REPORT_BATCH_ITEM_FAILURES, merge_template

WHEELHOUSE = ROOT / "build" / "wheelhouse"


class PackagingError(Exception):
    pass


def packaging_environment(stage: str, project_dir: Path, wheelhouse: Path = WHEELHOUSE) -> dict[str, str]:
    env = stage_process_environment(stage, project_dir)
    if wheelhouse.is_dir():
        env["PIP_FIND_LINKS"] = " ".join(filter(None, [str(wheelhouse), env.get("PIP_FIND_LINKS", "")]))
    return env


def sqs_event_sources(template: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(function logical id, event logical id, event properties) of every SQS event source."""
    return [(function_id, event_id, event.get("Properties", {}))
            for function_id, resource in template["Resources"].items()
            if resource["Type"] == "AWS::Serverless::Function"
            for event_id, event in resource["Properties"].get("Events", {}).items() if event["Type"] == "SQS"]


def queue_name_of(event_queue: Any) -> Optional[str]:
    """The queue name in Chalice's `Fn::Sub` ARN (`arn:...:sqs:${AWS::Region}:${AWS::AccountId}:<name>`)."""
    if isinstance(event_queue, dict) and isinstance(event_queue.get("Fn::Sub"), str):
        return event_queue["Fn::Sub"].rsplit(":", 1)[-1]
    return None


def template_problems(template: dict[str, Any]) -> list[str]:
    """What would make the packaged stack lose or mis-route messages."""
    # A merge entry whose logical id Chalice did not generate arrives without a Type.
    problems = [f"{logical_id}: the merge template names it but Chalice generated no such resource"
                for logical_id, r in template["Resources"].items() if "Type" not in r]
    if problems:
        return problems
    queues = {r["Properties"]["QueueName"]: logical_id for logical_id, r in template["Resources"].items()
              if r["Type"] == "AWS::SQS::Queue"}
    for function_id, event_id, properties in sqs_event_sources(template):
        if properties.get("FunctionResponseTypes") != REPORT_BATCH_ITEM_FAILURES:
            problems.append(f"{function_id}.{event_id}: no FunctionResponseTypes {REPORT_BATCH_ITEM_FAILURES}")
        name = queue_name_of(properties.get("Queue"))
        if name not in queues:
            problems.append(f"{function_id}.{event_id}: reads {name!r}, a queue the template does not create")
        elif queues[name] not in template["Resources"][function_id].get("DependsOn", []):
            problems.append(f"{function_id}: does not depend on {queues[name]}, the queue it reads")
    return problems


def run_cfn_lint(template_path: Path) -> int:
    """cfn-lint's exit code is a bit mask: 2 errors, 4 warnings, 8 informational."""
    return subprocess.run([sys.executable, "-c", "import sys; from cfnlint.runner import main; sys.exit(main())",
                           str(template_path)], check=False).returncode


def package(stage: str, out: Path, *, project_dir: Path = ROOT, lint: bool = True,
            functions: Optional[list[LambdaFunction]] = None) -> Path:
    """Package `stage` into `out/<stage>/sam.json` (+ deployment.zip); returns the template path."""
    project_dir, out = Path(project_dir).resolve(), Path(out).resolve()
    config = chalice_config(project_dir)
    functions = functions if functions is not None else for_stage(stage, project_dir)
    merge = merge_template(app_name=config["app_name"], stage=stage, prefix=resource_prefix(config, stage),
                           functions=functions, sender_email=sender_email(config, stage))
    out.mkdir(parents=True, exist_ok=True)
    merge_path = out / f"{stage}-merge-template.json"
    merge_path.write_text(json.dumps(merge, indent=2) + "\n", encoding="utf-8")
    stage_dir = out / stage
    command = [sys.executable, "-c", "import sys; from chalice.cli import main; sys.exit(main())",
               "--project-dir", str(project_dir), "package", "--stage", stage,
               "--merge-template", str(merge_path), str(stage_dir)]
    print(f"[{stage}] chalice package -> {stage_dir}", flush=True)
    answer = subprocess.run(command, cwd=project_dir, env=packaging_environment(stage, project_dir), check=False)
    template_path = stage_dir / "sam.json"
    if answer.returncode != 0 or not template_path.exists():
        raise PackagingError(f"[{stage}] chalice package failed (exit {answer.returncode})")
    problems = template_problems(json.loads(template_path.read_text(encoding="utf-8")))
    if problems:
        raise PackagingError(f"[{stage}] the packaged template is unsafe:\n  " + "\n  ".join(problems))
    if lint:
        print(f"[{stage}] cfn-lint {template_path}", flush=True)
        code = run_cfn_lint(template_path)
        if code & 2:
            raise PackagingError(f"[{stage}] cfn-lint found errors in {template_path}")
        if code:
            print(f"[{stage}] cfn-lint: warnings or notes only (exit {code})")
    print(f"[{stage}] template: {template_path}")
    return template_path


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="infra.package", description=__doc__.splitlines()[0])
    parser.add_argument("--stage", action="append", help="a stage of .chalice/config.json (default: every stage)")
    parser.add_argument("--out", default=str(ROOT / "build"), help="output folder (default: build/)")
    parser.add_argument("--no-lint", action="store_true", help="skip cfn-lint")
    args = parser.parse_args(argv)
    if os.environ.get("PIP_NO_INDEX") and not (WHEELHOUSE.is_dir() or os.environ.get("PIP_FIND_LINKS")):
        print(f"PIP_NO_INDEX is set but {WHEELHOUSE} does not exist: run `make wheelhouse` first", file=sys.stderr)
        return 2
    try:
        for stage in args.stage or stage_names(chalice_config()):
            package(stage, Path(args.out), lint=not args.no_lint)
    except (PackagingError, RuntimeError, KeyError) as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
