"""`conformance serve` as a user runs it: a real process on 127.0.0.1."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest

from conformance.protocols.metahuman.reference.faults import FAULTS
from tests.conftest import PeerFactory, session_update
from tests.e2e.turns import configure

COMMAND = [sys.executable, "-m", "conformance"]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*COMMAND, *args], capture_output=True, text=True, timeout=60)


def test_list_faults_names_every_fault_and_its_clause() -> None:
    """--list-faults prints each fault with the clause it breaks."""
    listed = run("serve", "--list-faults")
    assert listed.returncode == 0
    for fault in FAULTS.values():
        assert fault.name in listed.stdout
        assert fault.clause in listed.stdout


def test_unknown_fault_is_a_usage_error() -> None:
    """An unknown fault name exits 2 with one line naming the known ones."""
    result = run("serve", "--fault", "no-such-fault")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "no-such-fault" in result.stderr
    assert "delta-ids-from-one" in result.stderr


def test_port_in_use_is_a_usage_error() -> None:
    """A port already taken exits 2 with one line, no traceback."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        result = run("serve", "--port", str(taken.getsockname()[1]))
    assert result.returncode == 2
    assert "cannot listen" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.fixture
def served() -> Iterator[str]:
    """`conformance serve --port 0` in a child process; yields the URL it prints."""
    process = subprocess.Popen(
        [*COMMAND, "serve", "--port", "0", "--fault", "missing-language"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    match = re.search(r"listening on (http://127\.0\.0\.1:\d+)", line)
    assert match, line + (process.stderr.read() if process.stderr else "")
    assert "faults: missing-language" in line
    yield match.group(1)
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=10) == 0


async def test_serve_prints_its_url_and_serves(served: str, peer: PeerFactory) -> None:
    """--port 0 picks a free port, prints the URL, and serves the protocol there."""
    sender = await peer(served, role="sender")
    session_id = await configure(sender, session_update())
    assert len(session_id) == 36
