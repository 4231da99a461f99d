"""`conformance run` and `conformance list`: verdicts, exit codes, reports, selection."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from conformance import protocols
from conformance.reports import validate_report
from tests.catalogue import listed_ids
from tests.selftest.runs import conformance


def test_embedded_reference_server_passes_everything(tmp_path: Path) -> None:
    """With no URL the embedded server is tested: 0 FAILED, 0 ERROR, every report written."""
    run = conformance(tmp_path)
    assert run.code == 0, run.stdout[-3000:] + run.stderr
    report = run.report
    assert validate_report(report) == []
    assert report["summary"]["FAILED"] == 0
    assert report["summary"]["ERROR"] == 0
    assert report["summary"]["total"] == len(protocols.plugin("metahuman").catalogue())
    # the committed listing's ids, in its order, every one PASS against the reference
    assert list(run.verdicts().items()) == [(i, "PASS") for i in listed_ids("metahuman")]
    assert report["target"]["embedded"] is True
    junit = ElementTree.parse(run.report_dir / "junit.xml").getroot()
    assert int(junit.find("testsuite").get("tests")) == report["summary"]["total"]  # type: ignore[union-attr, arg-type]
    html = (run.report_dir / "report.html").read_text()
    assert "MH-DELTA-002[stream-binary-unordered]" in html
    assert "data:audio/mpeg;base64," in html
    assert "conformance verdicts" in run.stdout


def test_case_selection_and_list(tmp_path: Path) -> None:
    """--case and --exclude select by id glob; `list` prints every id with level and clause."""
    run = conformance(tmp_path, "--case", "MH-SES-*", "--exclude", "MH-SES-004")
    assert run.code == 0, run.stdout[-2000:]
    assert sorted(run.verdicts()) == ["MH-SES-001", "MH-SES-002", "MH-SES-003"]
    listed = subprocess.run(
        [sys.executable, "-m", "conformance", "list"], capture_output=True, text=True, check=True
    ).stdout
    for case in protocols.plugin("metahuman").catalogue():
        assert case.id in listed


def test_a_failure_exits_1_and_says_how_to_rerun(tmp_path: Path, faulty: Any) -> None:
    """A MUST failure exits 1; the output quotes the clause and the exact rerun command."""
    url = faulty(["missing-language"])
    run = conformance(tmp_path, "--url", url, "--case", "MH-STT-*")
    assert run.code == 1
    assert run.verdicts()["MH-STT-002"] == "FAILED"
    case = next(c for c in run.report["cases"] if c["id"] == "MH-STT-002")
    assert "/language" in case["message"] or "language" in case["message"]
    assert case["clause"] in run.stdout
    assert f"conformance run --url {url}" in case["rerun"]
    assert "--case MH-STT-002" in run.stdout


def test_non_strict_fails_only_with_strict(tmp_path: Path, faulty: Any) -> None:
    """A broken SHOULD is NON-STRICT: exit 0, or exit 1 with --strict."""
    url = faulty(["text-to-sender-only"])
    loose = conformance(tmp_path / "loose", "--url", url, "--case", "MH-TXT-004")
    assert loose.verdicts() == {"MH-TXT-004": "NON-STRICT"}
    assert loose.code == 0
    strict = conformance(tmp_path / "strict", "--url", url, "--case", "MH-TXT-004", "--strict")
    assert strict.code == 1


def test_baseline(tmp_path: Path, faulty: Any) -> None:
    """A failure the baseline expects exits 0; a listed case that passes is flagged fixed."""
    profile = tmp_path / "target.yaml"
    profile.write_text("protocol: metahuman\nexpected_failures: [MH-STT-002, MH-STT-001]\n")
    url = faulty(["missing-language"])
    run = conformance(tmp_path, "--url", url, "--profile", str(profile), "--case", "MH-STT-00[12]")
    assert run.code == 0, run.stdout[-2000:]
    cases = {c["id"]: c for c in run.report["cases"]}
    assert cases["MH-STT-002"]["baseline"] == "expected-failure"
    assert cases["MH-STT-001"]["baseline"] == "fixed"
    assert "fixed since the baseline" in run.stdout


def test_profile_shapes_the_handshake(tmp_path: Path) -> None:
    """A profile's path, namespace-free single socket and role-less auth reach the server."""
    from aiohttp import web

    from conformance.embedded import EmbeddedServer
    from conformance.protocols.metahuman.reference.server import ReferenceServer

    server = EmbeddedServer(ReferenceServer(path="custom/io").attach(web.Application()))
    url = server.start()
    try:
        profile = tmp_path / "single.yaml"
        profile.write_text(
            "protocol: metahuman\n"
            "transport: {path: /custom/io}\n"
            "roles: {sender: {auth: null}, receiver_socket: sender}\n"
        )
        run = conformance(
            tmp_path,
            "--url",
            url,
            "--profile",
            str(profile),
            "--case",
            "MH-TXT-*",
            "--case",
            "MH-DELTA-002[chain-*]",
            "--case",
            "MH-DELTA-004[chain-*]",
        )
    finally:
        server.stop()
    assert run.code == 0, run.stdout[-3000:]
    assert set(run.verdicts().values()) == {"PASS"}
    assert len(run.verdicts()) >= 8


def test_chatmode_embedded_and_by_ws_url(tmp_path: Path, faulty: Any) -> None:
    """Chat Mode: the embedded endpoints pass every case, and so does a ws:// URL with a profile."""
    embedded = conformance(tmp_path / "embedded", "--protocol", "chatmode")
    assert embedded.code == 0, embedded.stdout[-3000:]
    assert embedded.report["protocol"] == "chatmode"
    assert embedded.report["summary"]["FAILED"] == embedded.report["summary"]["ERROR"] == 0
    assert embedded.report["summary"]["total"] == len(protocols.plugin("chatmode").catalogue())
    assert list(embedded.verdicts().items()) == [(i, "PASS") for i in listed_ids("chatmode")]
    profile = tmp_path / "chatmode.yaml"
    profile.write_text("protocol: chatmode\nauth: {user_id: someone-else}\n")
    url = faulty([], "chatmode").replace("http://", "ws://")
    remote = conformance(tmp_path / "remote", "--url", url, "--profile", str(profile))
    assert remote.code == 0, remote.stdout[-3000:]
    # Against a URL the built-in profile carries no expired token (only the server's own key
    # signs one), so the two cases that need it are UNSUPPORTED; everything else passes.
    unsupported = {i for i, v in remote.verdicts().items() if v == "UNSUPPORTED"}
    assert unsupported == {"CM-CON-003", "CM-WS-003"}, remote.verdicts()
    assert set(remote.verdicts().values()) == {"PASS", "UNSUPPORTED"}


def test_a_users_pytest_plugins_do_not_change_a_run(tmp_path: Path) -> None:
    """pytest-randomly and pytest-asyncio are installed in this venv (dev dependencies), as in
    many a user's: `conformance run` loads neither, so the cases run in catalogue order with the
    same verdicts; loading randomly on purpose (`-- -p randomly`) does shuffle them, so the
    order seen is not luck."""
    from importlib.metadata import version

    # installed, as a user's would be: what the run must not pick up
    assert version("pytest-randomly")
    assert version("pytest-asyncio")
    run = conformance(tmp_path / "plain", "--protocol", "chatmode")
    assert run.code == 0, run.stdout[-3000:]
    assert list(run.verdicts().items()) == [(i, "PASS") for i in listed_ids("chatmode")]
    assert "randomly" not in run.stdout
    assert "asyncio" not in run.stdout
    shuffled = conformance(tmp_path / "shuffled", "--protocol", "chatmode", "--", "-p", "randomly")
    assert "randomly" in shuffled.stdout
    assert list(shuffled.verdicts()) != listed_ids("chatmode")
