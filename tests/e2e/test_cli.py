"""`conformance serve` as a user runs it: a real process on 127.0.0.1; its per-protocol options
parsed as the command does and served in the test's loop."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest

from conformance import protocols
from conformance.cli import _parser, _serve_options, main
from conformance.engine.transcript import Transcript
from conformance.hosting import running
from conformance.protocols.evi import plugin as evi_plugin
from conformance.protocols.evi.reference import server as evi_server
from conformance.protocols.evi.reference.config import API_KEY
from conformance.protocols.metahuman.reference.faults import FAULTS
from conformance.transports.base import Refused
from conformance.transports.socketio import SocketIOPeer
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


# --- each protocol's own serve options --------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "flag"),
    [
        (["--protocol", "evi", "--token", "X"], "--token"),
        (["--protocol", "evi", "--namespace", "/chat"], "--namespace"),
        (["--protocol", "chatmode", "--tts-format", "wav"], "--tts-format"),
        (["--protocol", "chatmode", "--path", "/elsewhere"], "--path"),
        (["--api-key", "K"], "--api-key"),  # metahuman, the default protocol
    ],
)
def test_another_protocols_option_is_a_usage_error(
    argv: list[str], flag: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A flag the chosen protocol does not declare exits 2 with one line naming it and the
    protocol's own options; nothing is served."""
    assert main(["serve", *argv]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1
    assert error.startswith(f"conformance: error: {flag} does not apply to --protocol ")
    protocol = argv[argv.index("--protocol") + 1] if "--protocol" in argv else "metahuman"
    for option in protocols.plugin(protocol).serve_options:
        assert option.flag in error


def test_help_lists_every_protocols_options_with_its_protocol() -> None:
    """`serve --help` lists each declared flag once, saying which protocols it applies to."""
    text = run("serve", "--help").stdout
    for name in protocols.names():
        for option in protocols.plugin(name).serve_options:
            assert option.flag in text
    assert "evi: the API key it accepts" in text
    assert "metahuman: the Socket.IO namespace" in text


def options_of(*argv: str) -> dict[str, Any]:
    return _serve_options(_parser().parse_args(["serve", *argv]))


def test_untyped_flags_are_not_passed_and_plugins_apply_their_defaults() -> None:
    """A flag the user did not type reaches no protocol; MetaHuman's typed flags do."""
    assert options_of("--protocol", "evi") == {"variants": []}
    assert options_of("--protocol", "chatmode", "--variant", "x") == {"variants": ["x"]}
    typed = options_of("--token", "T", "--namespace", "/ns", "--tts-format", "wav", "--path", "p")
    assert typed == {
        "token": "T",
        "namespace": "/ns",
        "tts_format": "wav",
        "path": "p",
        "variants": [],
    }


def test_evi_declared_paths_are_its_references_own() -> None:
    """EVI's declared path defaults are the ones its reference applies without them."""
    declared = {option.dest: option.default for option in evi_plugin.SERVE_OPTIONS}
    assert declared["path"] == evi_server.CHAT_PATH
    assert declared["configs_path"] == evi_server.CONFIGS_PATH


async def test_metahuman_flags_reach_its_reference() -> None:
    """--token, --namespace and --path as typed: the reference serves there, to the token."""
    options = options_of("--token", "T", "--namespace", "/ns", "--path", "other.io")
    app = protocols.plugin("metahuman").reference_app([], options)
    async with running(app) as url:
        for auth, served in (({"role": "sender", "token": "T"}, True), ({"role": "sender"}, False)):
            made = SocketIOPeer(
                url,
                name="sender",
                transcript=Transcript(),
                path="other.io",
                namespace="/ns",
                auth=auth,
            )
            try:
                if served:
                    await made.connect(timeout=10)
                    assert len(await configure(made, session_update())) == 36
                else:
                    with pytest.raises(Refused):
                        await made.connect(timeout=10)
            finally:
                await made.close()


async def test_evi_api_key_is_the_one_its_reference_accepts() -> None:
    """`serve --protocol evi --api-key K`: the reference serves the chat to K and refuses any
    other key, its built-in one included."""
    options = options_of("--protocol", "evi", "--api-key", "K", "--access-token", "T")
    app = protocols.plugin("evi").reference_app([], options)
    deadline = aiohttp.ClientTimeout(total=10)
    async with running(app) as url, aiohttp.ClientSession(timeout=deadline) as http:
        chat = f"{url.replace('http', 'ws', 1)}{evi_server.CHAT_PATH}"
        async with http.ws_connect(f"{chat}?api_key=K") as ws:
            first = await ws.receive_json(timeout=10)
            assert first["type"] == "chat_metadata"
        async with http.ws_connect(f"{chat}?access_token=T") as ws:
            assert (await ws.receive_json(timeout=10))["type"] == "chat_metadata"
        for refused in ("other", API_KEY):
            with pytest.raises(aiohttp.WSServerHandshakeError) as caught:
                await http.ws_connect(f"{chat}?api_key={refused}")
            assert caught.value.status == 401
