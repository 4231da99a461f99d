"""Running `conformance run` as a user does: a child process, its exit code and its reports."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from conformance.embedded import EmbeddedServer


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


@pytest.fixture
def faulty() -> Iterator[Any]:
    """Start reference servers with faults in this process; yields a starter returning URLs."""
    servers: list[EmbeddedServer] = []

    def start(faults: Sequence[str] = (), protocol: str = "metahuman") -> str:
        server = EmbeddedServer.reference(protocol, faults)
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        server.stop()


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


def write_profile(path: Path, protocol: str, data: Mapping[str, Any]) -> Path:
    """A profile file: `protocol` and the given keys."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump({"protocol": protocol, **data}, sort_keys=False))
    return path


@dataclass(frozen=True, slots=True)
class Timed:
    """A matrix cell's outcome: its runs and the seconds they took together."""

    runs: tuple[Run, ...]
    seconds: float


class Matrix:
    """Runs a module's matrix cells two at a time (both cores), the selected ones only.

    Each cell is a whole `conformance run` (and more) against its own server; running them
    side by side halves the selftests' wall time. A test asks for its cell and waits for it.
    """

    def __init__(self, cells: Mapping[str, Callable[[], tuple[Run, ...]]], workers: int = 2):
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="matrix")
        self._futures = {key: self._pool.submit(self._timed, cell) for key, cell in cells.items()}

    @staticmethod
    def _timed(cell: Callable[[], tuple[Run, ...]]) -> Timed:
        started = time.monotonic()
        runs = cell()
        return Timed(runs, time.monotonic() - started)

    def result(self, key: str) -> Timed:
        return self._futures[key].result()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def selected_params(request: pytest.FixtureRequest, name: str) -> list[Any]:
    """The values of parameter `name` among the session's selected items of this module."""
    module = request.module.__name__
    return [
        item.callspec.params[name]
        for item in request.session.items
        if isinstance(item, pytest.Function)
        and item.module is not None
        and item.module.__name__ == module
        and hasattr(item, "callspec")
        and name in item.callspec.params
    ]
