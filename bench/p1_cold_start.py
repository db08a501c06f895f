"""P1 cold start: time to `import app` over time to `import boto3`, in fresh interpreters.

    python -m bench.p1_cold_start [--samples N]

Each sample is a new `python -c` process that times its own import with perf_counter (interpreter
start-up is excluded: it is the same for both). Samples are interleaved round by round, in a
rotating order, so drift (page cache, CPU frequency, other load) hits every kind alike. One
discarded warm-up round comes first (bytecode caches written, files in the page cache). The
environment is a deployed function's (.chalice/config.json prod variables, SOHO_LOCAL_MODE=0).

Optional first-request paths: `import app`, then what the first call of a handler adds (the
composition root, the modules the entry point imports lazily, the botocore clients it makes).
The module lists are a snapshot of the entry points (FIRST_REQUEST below); no AWS call is made.
"""
from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from collections import defaultdict
from typing import Optional

from .common import ROOT, lambda_like_env, median, quartiles, table, write_figures

TARGET_RATIO = 1.3
TIMER = "import time as _t\n_s = _t.perf_counter()\n{body}\nprint(repr(_t.perf_counter() - _s))\n"

FIRST_REQUEST = {
    "POST /orders": (["pydantic", "chalicelib.contracts.storefront_v1", "chalicelib.service.orders"], ["dynamodb"]),
    "POST /webhooks/payments": (["stripe", "pydantic", "chalicelib.contracts.payments"], ["sqs"]),
    "payment event consumer": (["aws_lambda_powertools.utilities.batch", "aws_lambda_powertools.utilities.parser",
                                "chalicelib.contracts.payments", "chalicelib.service.payments"],
                               ["dynamodb", "sqs"]),
    "node result consumer": (["aws_lambda_powertools.utilities.batch", "aws_lambda_powertools.utilities.parser",
                              "chalicelib.contracts.node_messages", "chalicelib.service.provisioning"], ["dynamodb"]),
    "GET /admin/contracts/{id}": (["chalicelib.service.admin_views"], ["dynamodb"]),
}


def first_request_body(modules: list[str], clients: list[str]) -> str:
    lines = ["import app", "from chalicelib.bootstrap import services", "_svc = services()", "import importlib",
             f"for _m in {modules!r}: importlib.import_module(_m)"]
    if "dynamodb" in clients:
        lines += ["from pynamodb.connection import Connection",
                  "Connection(region=_svc.settings.region).client"]
    if "sqs" in clients:
        lines += ["_svc.queues.client"]
    return "\n".join(lines)


def kinds(with_first_request: bool) -> dict[str, str]:
    found = {"import boto3": "import boto3", "import app": "import app"}
    if with_first_request:
        for name, (modules, clients) in FIRST_REQUEST.items():
            found[f"first request: {name}"] = first_request_body(modules, clients)
    return found


def run_once(body: str, env: dict[str, str], importtime: bool = False) -> tuple[Optional[float], str]:
    args = [sys.executable] + (["-X", "importtime"] if importtime else []) + ["-c", TIMER.format(body=body)]
    out = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        return None, out.stderr
    return float(out.stdout.strip().splitlines()[-1]), out.stderr


IMPORTTIME = re.compile(r"^import time:\s+(\d+)\s+\|\s+(\d+)\s+\|(\s+)(\S+)\s*$")


def app_subtree(stderr: str) -> list[tuple[str, int, int, int]]:
    """(module, depth, self_us, cumulative_us) for `app` and everything it imported."""
    entries = []
    for line in stderr.splitlines():
        m = IMPORTTIME.match(line)
        if m:
            entries.append((m.group(4), (len(m.group(3)) - 1) // 2, int(m.group(1)), int(m.group(2))))
    for i, (name, depth, _, _) in enumerate(entries):
        if name == "app" and depth == 0:
            start = i
            while start > 0 and entries[start - 1][1] > 0:
                start -= 1
            return entries[start:i + 1]
    return []


def package_of(name: str) -> str:
    parts = name.split(".")
    return ".".join(parts[:2]) if parts[0] == "chalicelib" else parts[0]


def entries_after_site(stderr: str) -> list[tuple[str, int, int, int]]:
    """Everything the -c script imported itself (what follows the interpreter's own `site`)."""
    entries = []
    for line in stderr.splitlines():
        m = IMPORTTIME.match(line)
        if m:
            entries.append((m.group(4), (len(m.group(3)) - 1) // 2, int(m.group(1)), int(m.group(2))))
    last_site = max((i for i, e in enumerate(entries) if e[0] == "site" and e[1] == 0), default=-1)
    return entries[last_site + 1:]


def by_package(trees: list[list[tuple[str, int, int, int]]], skip: str = "") -> list[tuple[str, float]]:
    found: dict[str, list[int]] = defaultdict(list)
    for tree in trees:
        sums: dict[str, int] = defaultdict(int)
        for name, _, self_us, _ in tree:
            if name != skip:
                sums[package_of(name)] += self_us
        for package, us in sums.items():
            found[package].append(us)
    runs = len(trees)
    return sorted(((p, median(v + [0] * (runs - len(v))) / 1000) for p, v in found.items()), key=lambda x: -x[1])


def contributors(stderrs: list[str]) -> dict:
    trees = [app_subtree(stderr) for stderr in stderrs]
    subtrees: dict[tuple[str, int], list[int]] = defaultdict(list)
    totals = []
    for tree in trees:
        for name, depth, _, cumulative in tree:
            if name == "app":
                totals.append(cumulative)
            else:
                subtrees[(name, depth)].append(cumulative)
    return {
        "app_cumulative_ms": median(totals) / 1000 if totals else None,
        "packages_self_ms": by_package(trees, skip="app"),
        "largest_subtrees_ms": sorted(((f"{'  ' * (d - 1)}{n}", median(v) / 1000) for (n, d), v in subtrees.items()),
                                      key=lambda x: -x[1]),
        "runs": len(trees),
    }


def measure(samples: int, with_first_request: bool = True, importtime_runs: int = 5) -> dict:
    env = lambda_like_env("soho-bench-p1")
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    bodies = kinds(with_first_request)
    names = list(bodies)
    times: dict[str, list[float]] = {n: [] for n in names}
    failures: dict[str, str] = {}
    started = time.perf_counter()
    for name in names:  # warm-up round, discarded
        value, err = run_once(bodies[name], env)
        if value is None:
            failures[name] = err.strip().splitlines()[-1] if err.strip() else "failed"
    live = [n for n in names if n not in failures]
    for i in range(samples):
        for name in live[i % len(live):] + live[:i % len(live)]:
            value, _ = run_once(bodies[name], env)
            if value is not None:
                times[name].append(value)
    starts = []
    for _ in range(5):  # interpreter start-up alone (wall), for P4's init duration
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], cwd=ROOT, env=env, capture_output=True, timeout=60)
        starts.append(time.perf_counter() - t)
    stderrs, heaviest = [], []
    for _ in range(importtime_runs):
        value, err = run_once("import app", env, importtime=True)
        if value is not None:
            stderrs.append(err)
    slowest = max((n for n in live if n.startswith("first request")), key=lambda n: median(times[n]), default=None)
    for _ in range(3 if slowest else 0):
        value, err = run_once(bodies[slowest], env, importtime=True)
        if value is not None:
            heaviest.append(entries_after_site(err))
    base = median(times["import boto3"])
    results = {}
    for name in names:
        if name in failures:
            results[name] = {"error": failures[name]}
            continue
        q1, q3 = quartiles(times[name])
        results[name] = {"median_s": median(times[name]), "q1_s": q1, "q3_s": q3, "n": len(times[name]),
                         "ratio_to_boto3": median(times[name]) / base if base else None}
    return {"samples": samples, "python": sys.version.split()[0], "results": results,
            "interpreter_start_s": median(starts), "importtime": contributors(stderrs),
            "slowest_first_request": {"name": slowest, "packages_self_ms": by_package(heaviest), "runs": len(heaviest)},
            "seconds": time.perf_counter() - started,
            "target_ratio": TARGET_RATIO}


def report(figures: dict) -> str:
    results = figures["results"]
    rows = []
    for name, r in results.items():
        if "error" in r:
            rows.append([name, "n/a", "", "", "", f"({r['error'][:60]})"])
            continue
        verdict = ""
        if name == "import app":
            verdict = "PASS" if r["ratio_to_boto3"] <= figures["target_ratio"] else "MISS"
            verdict += f" (target <= {figures['target_ratio']})"
        rows.append([name, f"{r['median_s'] * 1000:.1f}", f"{r['q1_s'] * 1000:.1f}-{r['q3_s'] * 1000:.1f}",
                     r["n"], f"{r['ratio_to_boto3']:.2f}", verdict])
    app = results.get("import app", {})
    it = figures["importtime"]
    lines = [
        f"P1 cold start: median of {figures['samples']} fresh interpreters per row, interleaved "
        f"(Python {figures['python']}, timed inside the process, bytecode cache warm)",
        "",
        table(["what", "median ms", "IQR ms", "n", "ratio to boto3", "verdict"], rows, "lrrrrl"),
        "",
    ]
    if "ratio_to_boto3" in app:
        lines.append(f"import app / import boto3 = {app['ratio_to_boto3']:.2f}")
    lines += ["", f"top contributors to `import app` (-X importtime, median of {it['runs']} runs; "
              f"app cumulative {it['app_cumulative_ms'] or float('nan'):.1f} ms with importtime's own overhead):",
              "  by package, self time (ms):"]
    lines += [f"    {name:<52} {ms:7.1f}" for name, ms in it["packages_self_ms"][:12]]
    lines += ["  largest subtrees, cumulative (ms; indented by depth):"]
    lines += [f"    {name:<52} {ms:7.1f}" for name, ms in it["largest_subtrees_ms"][:12]]
    slow = figures.get("slowest_first_request") or {}
    if slow.get("name"):
        lines += ["", f"top contributors to the slowest first-request path ({slow['name']}), self time by package "
                  f"(ms, median of {slow['runs']} -X importtime runs):"]
        lines += [f"    {name:<52} {ms:7.1f}" for name, ms in slow["packages_self_ms"][:12]]
    lines += ["", f"interpreter start-up alone (python -c pass, wall, median of 5): "
              f"{figures['interpreter_start_s'] * 1000:.1f} ms (not in the rows above)"]
    lines += ["first request rows: import app + composition root + the entry point's lazy imports + its "
              "botocore client(s); no AWS call (module lists: bench/p1_cold_start.py FIRST_REQUEST)",
              f"(measured in {figures['seconds']:.1f} s)"]
    return "\n".join(lines)


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.p1_cold_start")
    parser.add_argument("--samples", type=int, default=15)
    parser.add_argument("--no-first-request", action="store_true")
    args = parser.parse_args(argv)
    figures = measure(max(args.samples, 1), not args.no_first_request)
    write_figures("p1", figures)
    print(report(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
