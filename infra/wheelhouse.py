"""`make wheelhouse`: every runtime wheel in build/wheelhouse, so `chalice package` can run offline.

`chalice package` resolves requirements.txt with `pip download` twice: once for this machine
(to learn the dependency closure), then, for any package whose wheel does not fit Lambda, a
manylinux wheel for the Lambda runtime. This downloads both sets once (while PyPI is reachable).
infra/package.py then adds the folder to PIP_FIND_LINKS, and with `PIP_NO_INDEX=1` pip reads
nothing else:

    make wheelhouse                  # online, once per requirements change
    PIP_NO_INDEX=1 make package      # offline
"""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path
from typing import Optional

from .package import WHEELHOUSE
from .stages import ROOT

# The Lambda runtime Chalice packages for here (python3.11, x86_64, glibc 2.26), and the platform
# tags chalice/deploy/packager.py asks pip for: every manylinux glibc minor up to the runtime's.
LAMBDA_PYTHON, LAMBDA_ABI, LAMBDA_GLIBC_MINOR, LAMBDA_MACHINE = "3.11", "cp311", 26, "x86_64"


def lambda_platforms() -> list[str]:
    return [f"manylinux_2_{minor}_{LAMBDA_MACHINE}" for minor in range(17, LAMBDA_GLIBC_MINOR + 1)] + [
        f"manylinux2014_{LAMBDA_MACHINE}"]


def download(dest: Path = WHEELHOUSE, requirements: Path = ROOT / "requirements.txt") -> None:
    dest.mkdir(parents=True, exist_ok=True)
    base = [sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "-r", str(requirements),
            "--dest", str(dest)]
    subprocess.run(base, check=True)  # this machine's closure (chalice's first pass)
    lambda_only = ["--only-binary=:all:", "--implementation", "cp", "--python-version", LAMBDA_PYTHON,
                   "--abi", LAMBDA_ABI] + [flag for p in lambda_platforms() for flag in ("--platform", p)]
    subprocess.run(base + lambda_only, check=True)  # the wheels the Lambda runtime loads


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="infra.wheelhouse", description=__doc__.splitlines()[0])
    parser.add_argument("--dest", default=str(WHEELHOUSE))
    args = parser.parse_args(argv)
    download(Path(args.dest))
    print(f"wheelhouse: {args.dest} (offline packaging: PIP_NO_INDEX=1 make package)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
