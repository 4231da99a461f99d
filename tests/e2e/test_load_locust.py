"""The packaged locustfile under Locust itself: a master and one worker on 127.0.0.1, headless,
a few users for a few seconds against the reference server (as CI runs it: bounded)."""

from __future__ import annotations

import csv
import socket
import subprocess
import sys
from pathlib import Path

from conformance.embedded import EmbeddedServer

LOCUST = str(Path(sys.executable).with_name("locust"))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_master_and_worker_report_judged_turns(tmp_path: Path) -> None:
    """Locust's stats count the turns the worker's users played and judged (first audio and
    turn latencies), with no failure; master and worker end on their own, exit 0."""
    locustfile = subprocess.run(
        [sys.executable, "-m", "conformance.load.locustfile"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()
    server = EmbeddedServer.reference("metahuman")
    url = server.start()
    port = _free_port()
    try:
        worker = subprocess.Popen(
            [
                LOCUST,
                "-f",
                locustfile,
                "--worker",
                "--master-host",
                "127.0.0.1",
                "--master-port",
                str(port),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=tmp_path,
        )
        try:
            master = subprocess.run(
                [
                    *(LOCUST, "-f", locustfile, "--master", "--master-bind-host", "127.0.0.1"),
                    *("--master-bind-port", str(port), "--expect-workers", "1", "--headless"),
                    *("-u", "3", "-r", "3", "-t", "5s", "--host", url, "--only-summary"),
                    *("--csv", str(tmp_path / "run"), "--conformance-protocol", "metahuman"),
                ],
                capture_output=True,
                text=True,
                timeout=90,
                cwd=tmp_path,
            )
            worker_out, _ = worker.communicate(timeout=30)
        finally:
            worker.kill()
    finally:
        server.stop()
    assert master.returncode == 0, master.stderr[-3000:]
    assert worker.returncode == 0, worker_out[-3000:]
    with (tmp_path / "run_stats.csv").open() as stats:
        rows = {row["Name"]: row for row in csv.DictReader(stats)}
    for name in ("first_audio", "turn"):
        assert rows[name]["Type"] == "metahuman"
        assert int(rows[name]["Request Count"]) >= 3, rows[name]
    assert int(rows["Aggregated"]["Failure Count"]) == 0
    assert "clause" not in {row["Type"] for row in rows.values()}
