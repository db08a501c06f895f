"""Stopping the servers we start: each runs in its own session, so its PID is its process group."""
from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from typing import Optional


def stop_group(proc: Optional[subprocess.Popen], grace_seconds: float = 10.0) -> None:
    """SIGTERM to the child's process group (by its PID), SIGKILL if it outlives the grace period."""
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=grace_seconds)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
