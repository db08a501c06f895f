"""`make run`'s program: prints where to reach the system, and Ctrl-C stops every process it started."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request

from devstack.stack import ROOT, free_port


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A stopped child may linger as a zombie until reaped by init: treat that as gone.
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split()[2] != "Z"


def test_devstack_prints_its_urls_and_ctrl_c_stops_every_process(tmp_path):
    api_port, node_port, ftp_port = free_port(), free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}
    env.update({"API_PORT": str(api_port), "NODE_HTTP_PORT": str(node_port), "NODE_FTP_PORT": str(ftp_port),
                "DEVSTACK_DIR": str(tmp_path),
                "OPERATOR_API_KEY": "op_test_key", "PYTHONUNBUFFERED": "1"})
    proc = subprocess.Popen([sys.executable, "-m", "devstack"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    banner = ""
    try:
        deadline = time.monotonic() + 120
        while "Ctrl-C stops everything." not in banner and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            banner += line
        assert f"http://127.0.0.1:{api_port}" in banner and f"http://127.0.0.1:{node_port}" in banner
        assert f"ftp://127.0.0.1:{ftp_port}" in banner  # R28: the node's FTP server
        assert "op_test_key" in banner and "moto server started here" in banner
        pids = [int(p) for p in re.findall(r"=(\d+)", banner.split("processes", 1)[1].splitlines()[0])]
        assert len(pids) == 5 and all(alive(p) for p in pids)  # api, runner, node, EPP registry, moto
        with urllib.request.urlopen(f"http://127.0.0.1:{api_port}/health", timeout=5) as answer:
            assert answer.status == 200
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0
        assert [p for p in pids if alive(p)] == []
    finally:
        if proc.poll() is None:  # a failed assertion: still stop what it started (Ctrl-C stops its children)
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
