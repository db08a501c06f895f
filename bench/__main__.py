"""python -m bench (make bench): run P1-P7, print their figures, write them to bench/RESULTS.md.

Each benchmark runs in its own interpreter (settings are read once per process, and P2's moto
mock must not meet P3's real endpoints). P4 prices the figures P1-P3 just wrote to bench/.cache.
P5-P7 (sweep scaling, invoice numbering under concurrency, payment replay) run on DynamoDB Local
and a moto server, as P3 does.
Benchmarks report figures; none of them fails on a missed target. The exit status is non-zero
only when a benchmark could not run.
"""
from __future__ import annotations

import os
import platform
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone

from .common import BENCH, CACHE, ROOT

BENCHMARKS = [
    ("P1 cold start", "bench.p1_cold_start", []),
    ("P2 round trips", "bench.p2_round_trips", []),
    ("P3 capacity", "bench.p3_capacity", []),
    ("P4 cost", "bench.p4_cost", ["--reuse"]),
    ("P5 sweep scaling", "bench.p5_sweep_scaling", []),
    ("P6 invoice concurrency", "bench.p6_invoice_concurrency", []),
    ("P7 payment replay", "bench.p7_payment_replay", []),
]
TIMEOUT_SECONDS = 300
TIMEOUTS = {"bench.p7_payment_replay": 480}  # 1,000 orders, 3,000 payment deliveries, 12,000 more deliveries


def git_revision() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", ".", ":!bench"], cwd=ROOT, capture_output=True,
                               text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head + (" with uncommitted changes outside bench/" if dirty else "")


def run(module: str, args: list[str]) -> tuple[int, str, float]:
    """Run one benchmark in its own process group, echoing its output; on timeout, SIGTERM the group
    (P3 and P5-P7 then stop their servers by PID), SIGKILL it after a grace period."""
    timeout = TIMEOUTS.get(module, TIMEOUT_SECONDS)
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", module, *args], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    lines: list[str] = []

    def echo() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            sys.stdout.write(line)
            sys.stdout.flush()
            lines.append(line)

    reader = threading.Thread(target=echo, daemon=True)
    reader.start()
    try:
        code = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
        lines.append(f"\n(stopped after {timeout} s)\n")
        code = proc.returncode or 124
    except BaseException:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
        raise
    reader.join(timeout=5)
    return code, "".join(lines).rstrip(), time.perf_counter() - started


def main() -> int:
    for name in ("p1", "p2", "p3", "p4", "p5", "p6", "p7"):
        (CACHE / f"{name}.json").unlink(missing_ok=True)  # P4 must price this run's figures only
    started_at = datetime.now(timezone.utc)
    started = time.perf_counter()
    sections, failed = [], []
    for title, module, args in BENCHMARKS:
        print(f"\n=== {title}: python -m {module} {' '.join(args)}".rstrip(), flush=True)
        if module == "bench.p4_cost" and failed:
            output, code, seconds = f"skipped: {', '.join(failed)} did not run", 0, 0.0
            print(output)
        else:
            code, output, seconds = run(module, args)
        if code != 0:
            failed.append(title)
            output += f"\n\n(exit status {code})"
        sections.append((title, module, args, output, seconds))
    total = time.perf_counter() - started
    command = "make bench  (.venv/bin/python -m bench)"
    lines = [
        "# Benchmark results",
        "",
        f"Latest figures, written by `{command}` on {started_at:%Y-%m-%d %H:%M} UTC "
        f"in {total:.0f} s; commit {git_revision()}; Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, {platform.machine()}.",
        "Rewritten on every run: do not edit by hand. Each benchmark also runs alone (command above its figures).",
        "",
    ]
    for title, module, args, output, seconds in sections:
        lines += [f"## {title}", "", f"`python -m {module}{' ' + ' '.join(args) if args else ''}` "
                  f"({seconds:.0f} s)", "", "```", output, "```", ""]
    (BENCH / "RESULTS.md").write_text("\n".join(lines), encoding="utf-8")
    print(f"\nwrote bench/RESULTS.md ({total:.0f} s)" + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
