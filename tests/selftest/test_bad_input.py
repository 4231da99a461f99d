"""Bad input ends in a clear message and the documented exit code, or in verdicts, never a hang.

A malformed profile and an unreachable URL exit 2 with one line; a server that never answers,
or answers with the wrong types, gets FAILED verdicts within its timeouts, and the reports.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Any

import pytest
import socketio
from aiohttp import web

from conformance.embedded import EmbeddedServer
from tests.selftest.conftest import conformance

FAST = """protocol: metahuman
timeouts: {connect: 2, event: 0.5, transcription: 0.5, first_audio: 0.5, turn: 1, silence: 0.2}
"""


@pytest.mark.parametrize(
    ("profile", "says"),
    [
        ("protocol: metahuman\ntimeout: {turn: 1}\n", "allowed keys"),
        ("protocol: metahuman\ntimeouts: {turn: -1}\n", "/timeouts/turn"),
        (
            "protocol: metahuman\ncapabilities: {response_types: [fast]}\n",
            "/capabilities/response_types/0",
        ),
        ("protocol: metahuman\nroles: {receiver_socket: both}\n", "/roles/receiver_socket"),
        ("protocol: metahuman\naudio: {format: aiff}\n", "/audio/format"),
        ("protocol: telepathy\n", "unknown protocol 'telepathy'; known: chatmode, metahuman"),
        ("protocol: metahuman\ntimeouts: [1, 2\n", "not valid YAML (line "),
        ("- just\n- a list\n", "a profile is a mapping"),
    ],
)
def test_malformed_profile(profile: str, says: str, tmp_path: Path) -> None:
    """A bad profile exits 2 with one line naming the field and what is allowed."""
    path = tmp_path / "bad.yaml"
    path.write_text(profile)
    run = conformance(tmp_path, "--profile", str(path))
    assert run.code == 2
    assert says in run.stderr, run.stderr
    assert run.stderr.strip().count("\n") == 0, run.stderr
    assert "Traceback" not in run.stderr


def test_missing_profile_file(tmp_path: Path) -> None:
    """A profile that does not exist exits 2 saying so."""
    run = conformance(tmp_path, "--profile", str(tmp_path / "nowhere.yaml"))
    assert run.code == 2
    assert "cannot read the profile" in run.stderr


def test_unreachable_url(tmp_path: Path) -> None:
    """A URL nothing listens on exits 2 with one line, no traceback."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    run = conformance(tmp_path, "--url", f"http://127.0.0.1:{port}")
    assert run.code == 2
    assert "unreachable target" in run.stderr
    assert "Traceback" not in run.stderr + run.stdout


def _silent() -> web.Application:
    """A Socket.IO server that accepts every connection and never says a word."""
    server = socketio.AsyncServer(async_mode="aiohttp")
    app = web.Application()
    server.attach(app)
    return app


def _hostile() -> web.Application:
    """A Socket.IO server that answers every event with the wrong types or no JSON object."""
    server = socketio.AsyncServer(async_mode="aiohttp")

    @server.on("session.update")  # type: ignore[untyped-decorator]
    async def update(sid: str, *args: Any) -> None:
        await server.emit("session.updated", {"sessionId": 42, "success": "yes"}, to=sid)

    @server.on("input.buffer.append")  # type: ignore[untyped-decorator]
    async def append(sid: str, *args: Any) -> None:
        await server.emit("input.buffer.initialized", "not an object", to=sid)

    @server.on("input.buffer.commit")  # type: ignore[untyped-decorator]
    async def commit(sid: str, *args: Any) -> None:
        await server.emit("request.transcribe.done", {"text": 7}, to=sid)
        await server.emit("response.text", [1, 2, 3])
        await server.emit("response.audio.delta", {"id": "zero", "done": True, "audio": None})
        await server.emit("custom.error", "boom", to=sid)

    app = web.Application()
    server.attach(app)
    return app


@pytest.fixture
def serving() -> Any:
    servers: list[EmbeddedServer] = []

    def start(app: web.Application) -> str:
        server = EmbeddedServer(app)
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        server.stop()


def test_silent_server(tmp_path: Path, serving: Any) -> None:
    """A server that never answers gets FAILED naming the awaited event, in bounded time."""
    profile = tmp_path / "fast.yaml"
    profile.write_text(FAST)
    started = time.monotonic()
    run = conformance(tmp_path, "--url", serving(_silent()), "--profile", str(profile))
    elapsed = time.monotonic() - started
    assert run.code == 1
    cases = {c["id"]: c for c in run.report["cases"]}
    assert cases["MH-SES-001"]["verdict"] == "FAILED"
    assert "awaited session.updated within 0.5 s" in cases["MH-SES-001"]["message"]
    assert cases["MH-ERR-005"]["verdict"] == "FAILED"
    assert "awaited custom.error" in cases["MH-ERR-005"]["message"]
    assert run.report["summary"]["ERROR"] == 0, [
        c for c in cases.values() if c["verdict"] == "ERROR"
    ]
    assert (run.report_dir / "report.html").exists()
    assert elapsed < 120


def test_hostile_server(tmp_path: Path, serving: Any) -> None:
    """Wrong types and payloads that are not objects are FAILED with the schema path."""
    profile = tmp_path / "fast.yaml"
    profile.write_text(FAST)
    run = conformance(tmp_path, "--url", serving(_hostile()), "--profile", str(profile))
    assert run.code == 1
    cases = {c["id"]: c for c in run.report["cases"]}
    assert cases["MH-SES-002"]["verdict"] == "FAILED"
    assert (
        "at /sessionId" in cases["MH-SES-002"]["message"]
        or "at /success" in cases["MH-SES-002"]["message"]
    )
    assert cases["MH-BUF-002"]["verdict"] == "FAILED"
    assert "at /" in cases["MH-BUF-002"]["message"]
    assert cases["MH-STT-002"]["verdict"] == "FAILED"
    assert run.report["summary"]["ERROR"] == 0, [
        c for c in cases.values() if c["verdict"] == "ERROR"
    ]
