"""The Lambda functions the Chalice app makes, read from the app object itself.

`python -m infra.appinfo --stage prod` imports `app.py` with the stage's environment (as
`chalice package` does) and prints the functions as JSON: the queue names an SQS handler reads
are computed by chalicelib/config.py at import time, so they are only right in a process that
started with the stage's variables. The packaging and the policy generator call it that way.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Optional

from .stages import API_HANDLER, ROOT, chalice_config, stage_environment

# Values that only let the app import outside local mode (chalicelib/config.py refuses to start
# without secrets). They never reach a template: the real ones are deploy-time parameters.
IMPORT_ONLY_SECRETS = {"PAYMENT_WEBHOOK_SECRET": "import-only-placeholder",
                       "OPERATOR_API_KEY": "import-only-placeholder",
                       "SOHO_FTP_PASSWORD_SECRET": "import-only-placeholder",
                       "SOHO_AUTH_TOKEN_SECRET": "import-only-placeholder",
                       "SOHO_NODE_API_SECRET": "import-only-placeholder",
                       "SOHO_REGISTRY_PASSWORDS": "{}"}
DEFAULT_REGION = "eu-west-3"


class UnsupportedEventSource(Exception):
    pass


@dataclass(frozen=True)
class LambdaFunction:
    name: str                    # the handler name Chalice uses (`api_handler` for the HTTP API)
    kind: str                    # "api", "sqs", "schedule" or "lambda"
    queue: Optional[str] = None  # the physical name of the queue an SQS handler reads


def describe(app: Any) -> list[LambdaFunction]:
    """One entry per Lambda function Chalice makes for `app`. An event source kind this module
    does not know is an error: the template and the policies would miss it."""
    from chalice.app import ScheduledEventConfig, SQSEventConfig
    functions = [LambdaFunction(API_HANDLER, "api")] if app.routes else []
    for source in app.event_sources:
        if isinstance(source, SQSEventConfig):
            if source.queue is None:
                raise UnsupportedEventSource(f"{source.name} reads a queue by ARN; name it by queue name "
                                             "so the template and policies can match it")
            functions.append(LambdaFunction(source.name, "sqs", source.queue))
        elif isinstance(source, ScheduledEventConfig):
            functions.append(LambdaFunction(source.name, "schedule"))
        else:
            raise UnsupportedEventSource(f"{type(source).__name__} ({source.name}): teach infra/appinfo.py, "
                                         "infra/template.py and infra/iam.py about it")
    if app.websocket_handlers:
        raise UnsupportedEventSource("websocket handlers: teach infra/ about them")
    functions += [LambdaFunction(name, "lambda") for name in app.pure_lambda_functions]
    return sorted(functions, key=lambda f: f.name)


def stage_process_environment(stage: str, project_dir: Path = ROOT,
                              base: Optional[dict[str, str]] = None) -> dict[str, str]:
    """The environment of a process that imports the app as `chalice package` does for `stage`."""
    env = {k: v for k, v in (os.environ if base is None else base).items()
           if not k.startswith(("SOHO_", "AWS_ENDPOINT_URL"))}
    env.update(stage_environment(chalice_config(project_dir), stage))
    for key, value in IMPORT_ONLY_SECRETS.items():
        env.setdefault(key, value)
    env.setdefault("AWS_DEFAULT_REGION", env.get("AWS_REGION", DEFAULT_REGION))
    return env


def for_stage(stage: str, project_dir: Path = ROOT) -> list[LambdaFunction]:
    """describe() of the app in `project_dir`, imported in a fresh process with `stage`'s environment."""
    answer = subprocess.run(
        [sys.executable, "-m", "infra.appinfo", "--stage", stage, "--project-dir", str(project_dir)],
        cwd=ROOT, env=stage_process_environment(stage, project_dir), capture_output=True, text=True, check=False)
    if answer.returncode != 0:
        raise RuntimeError(f"could not read the app for stage {stage}:\n{answer.stderr}")
    return [LambdaFunction(**f) for f in json.loads(answer.stdout)]


def main() -> None:
    parser = argparse.ArgumentParser(prog="infra.appinfo", description=__doc__.splitlines()[0])
    parser.add_argument("--stage", required=True)
    parser.add_argument("--project-dir", default=str(ROOT))
    args = parser.parse_args()
    project_dir = str(Path(args.project_dir).resolve())
    os.environ.update(stage_process_environment(args.stage, Path(project_dir)))
    sys.path.insert(0, project_dir)
    from app import app  # noqa: E402  (after the environment is the stage's)
    print(json.dumps([asdict(f) for f in describe(app)]))


if __name__ == "__main__":
    main()
