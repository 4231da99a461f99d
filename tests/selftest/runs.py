"""Running `conformance run` as a user does: a child process, its exit code and its reports;
and the matrix cells of the session (`Matrices`), for the selftests."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import yaml


@dataclass(frozen=True, slots=True)
class Run:
    code: int
    stdout: str
    stderr: str
    report_dir: Path

    @property
    def report(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads((self.report_dir / "report.json").read_text())
        return loaded

    def verdicts(self) -> dict[str, str]:
        return {case["id"]: case["verdict"] for case in self.report["cases"]}


def conformance(tmp_path: Path, *args: str, timeout: float = 240) -> Run:
    """`python -m conformance run ARGS --report-dir TMP` in a child process."""
    return conformance_command(tmp_path, "run", *args, timeout=timeout)


def conformance_command(tmp_path: Path, command: str, *args: str, timeout: float = 240) -> Run:
    """`python -m conformance COMMAND ARGS --report-dir TMP` in a child process."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    report_dir = tmp_path / "reports"
    done = subprocess.run(
        [sys.executable, "-m", "conformance", command, "--report-dir", str(report_dir), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=tmp_path,
    )
    return Run(done.returncode, done.stdout, done.stderr, report_dir)


# The reference servers of the matrix cells run in this test process (one GIL), three cells at
# a time: each cell's run takes its cases one at a time, not the built-in four, so the cells
# load the machine as they did before cases ran side by side (with two, CI once saw a load
# fault's sessions fail to overlap). The runs of tests/selftest/test_run.py, the hostile
# servers and the e2e tests keep the built-in four.
CELL_CONCURRENCY = 1


def write_profile(path: Path, protocol: str, data: Mapping[str, Any]) -> Path:
    """A profile file: `protocol`, the cells' concurrency and the given keys."""
    path.parent.mkdir(parents=True, exist_ok=True)
    values = {"protocol": protocol, "concurrency": CELL_CONCURRENCY, **data}
    path.write_text(yaml.safe_dump(values, sort_keys=False))
    return path


@dataclass(frozen=True, slots=True)
class Timed:
    """A matrix cell's outcome and the seconds it took."""

    runs: Any
    seconds: float


# Matrix cells mostly wait on a server's answers, so three at a time fill both cores.
MATRIX_WORKERS = 3


class Matrices:
    """Every selected matrix cell of the session, run three at a time from the start.

    A module that declares `MATRIX_CELL(root, key)` gets one cell per selected test of it with
    a `key` parameter; each cell is a whole `conformance` command (or a few) against its own
    server. The cells of all modules share one pool, so the kill matrix, the variant matrix,
    the fuzz findings and the hostile servers overlap instead of queueing module by module;
    a test asks for its cell and waits for it.
    """

    def __init__(self, workers: int = MATRIX_WORKERS) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="matrix")
        self._futures: dict[tuple[str, str], Future[Timed]] = {}

    def submit(self, module: str, key: str, cell: Callable[[], Any]) -> None:
        if (module, key) not in self._futures:
            self._futures[module, key] = self._pool.submit(self._timed, cell)

    @staticmethod
    def _timed(cell: Callable[[], Any]) -> Timed:
        started = time.monotonic()
        runs = cell()
        return Timed(runs, time.monotonic() - started)

    def result(self, module: str, key: str) -> Timed:
        return self._futures[module, key].result()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def said(stream: IO[str], needle: str, timeout: float) -> bool:
    """Read a child's output until `needle` appears (True) or `timeout` passes (False): wait
    for what the child says, not for a fixed time (a busy machine starts it late)."""
    deadline = time.monotonic() + timeout
    seen = ""
    fd = stream.fileno()
    while needle not in seen:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            return False
        chunk = os.read(fd, 4096)
        if not chunk:
            return False
        seen = (seen + chunk.decode(errors="replace"))[-4096:]
    return True
