"""Running `conformance run` as a user does: a child process, its exit code and its reports."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

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
    tmp_path.mkdir(parents=True, exist_ok=True)
    report_dir = tmp_path / "reports"
    done = subprocess.run(
        [sys.executable, "-m", "conformance", "run", "--report-dir", str(report_dir), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=tmp_path,
    )
    return Run(done.returncode, done.stdout, done.stderr, report_dir)


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
