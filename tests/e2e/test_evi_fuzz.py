"""The EVI fuzz catalogue against the embedded reference server, in-process: each case finds
nothing on the clean server within a small budget, and the readings for all protocols hold on
faulty ones (a dropped or silent answer to bad input is a MUST break; bad input taken is at most
SHOULD; another chat hearing anything fails the witness). That the fuzzer finds, saves and
replays real faults of the reference, through the command, is tests/selftest/test_fuzz.py's."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
import yaml

from conformance import protocols
from conformance.embedded import EmbeddedServer
from conformance.engine.context import CaseContext, Env, Recorder, ScenarioCache
from conformance.engine.model import Case, Level, Violation
from conformance.fuzz import Judgement, Step, load_finding
from conformance.profiles import Profile, load_profile
from conformance.protocols.evi.fuzz import judge_step
from conformance.protocols.evi.fuzzcases import replay
from conformance.protocols.evi.reference.faults import (
    CLOSE_ON_BAD_MESSAGE,
    CROSS_CHAT_LEAK,
    SILENTLY_DROP_BAD_MESSAGE,
    UNKNOWN_TOOL_CALL_ACCEPTED,
)

# Four stateful sequences (a quarter of the examples), each case within about 3 s.
BUDGET = {"max_examples": 16, "max_time": 3.0, "seed": 0}
CASES = {case.id: case for case in protocols.plugin("evi").fuzz_catalogue()}


def _profile(tmp_path: Path, **overrides: object) -> Profile:
    """The embedded run's profile (the reference's credentials and codes), with overrides."""
    path = tmp_path / "profile.yaml"
    path.write_text(yaml.safe_dump({"protocol": "evi", **overrides}))
    return load_profile(path, protocols.profile_of("evi"), embedded=True)


class Served:
    """Reference servers started on demand (clean or with faults), stopped at the end."""

    def __init__(self) -> None:
        self.servers: list[EmbeddedServer] = []

    def __call__(self, faults: Sequence[str] = ()) -> str:
        server = EmbeddedServer.reference("evi", faults)
        self.servers.append(server)
        return server.start()


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    started = Served()
    yield started
    for server in started.servers:
        server.stop()


@pytest.fixture(scope="module")
def clean(served: Served) -> str:
    return served()


def _run_case(
    case: Case, url: str, profile: Profile, report_dir: Path, **budget: float
) -> CaseContext:
    """Run one fuzz case as the plug-in's catalogue has it; Violation when it is not PASS."""
    ctx = CaseContext(
        url=url,
        profile=profile,
        recorder=Recorder(),
        report_dir=report_dir,
        case=case,
        scenarios=ScenarioCache(),
        options={**BUDGET, **budget},
    )

    async def run() -> None:
        await case.run(ctx)

    asyncio.run(run())
    return ctx


def test_catalogue() -> None:
    """The plug-in lists the three fuzz cases."""
    assert list(CASES) == ["EVI-FUZZ-001", "EVI-FUZZ-002", "EVI-FUZZ-003"]


@pytest.mark.parametrize("case_id", sorted(CASES))
def test_reference_survives_fuzzing(case_id: str, clean: str, tmp_path: Path) -> None:
    """A bounded run of the case against the clean reference passes and saves no finding."""
    ctx = _run_case(CASES[case_id], clean, _profile(tmp_path), tmp_path)
    assert not (tmp_path / "findings").exists()
    assert any(" examples in " in n or "sequences for" in n for n in ctx.recorder.notes)


def _judged(url: str, profile: Profile, tmp_path: Path, step: Step) -> Judgement:
    """The judgement of one step (each of these tests expects one)."""
    env = Env(url=url, profile=profile, recorder=Recorder(), report_dir=tmp_path)
    judged = asyncio.run(judge_step(env, step))
    assert judged is not None, step.label
    return judged


def _bad(label: str, message: object, event: str = "json") -> Step:
    return Step(event=event, args=(message,), label=label, expect="error")


def test_fault_is_found_saved_and_replayed(served: Served, clean: str, tmp_path: Path) -> None:
    """Against a server that closes the socket after answering bad input, EVI-FUZZ-002 fails
    and saves its minimal example; the finding replays: still broken there, fixed on the clean
    reference."""
    url = served([CLOSE_ON_BAD_MESSAGE.name])
    profile = _profile(tmp_path)
    with pytest.raises(Violation) as failed:
        _run_case(CASES["EVI-FUZZ-002"], url, profile, tmp_path, max_examples=5)
    assert "closed the socket" in str(failed.value)
    finding = load_finding(tmp_path / "findings" / "EVI-FUZZ-002.json")
    assert finding.protocol == "evi"
    assert len(finding.steps) == 1

    def replayed(target: str) -> str | None:
        env = Env(url=target, profile=profile, recorder=Recorder(), report_dir=tmp_path)
        return asyncio.run(replay(finding, env))

    still = replayed(url)
    assert still is not None
    assert "closed the socket" in still
    assert replayed(clean) is None


def test_silence_is_a_break_only_where_an_answer_is_due(served: Served, tmp_path: Path) -> None:
    """Bad input dropped without a word: MUST for a user_input (a silent session), SHOULD for a
    session_settings (a server that takes it answers nothing either: lenient)."""
    url = served([SILENTLY_DROP_BAD_MESSAGE.name])
    profile = _profile(tmp_path, timeouts={"event": 0.5})
    turn = _judged(url, profile, tmp_path, _bad("user_input", {"type": "user_input"}))
    assert turn.level is Level.MUST
    assert turn.reason.startswith("no error within 0.5 s")
    bad = {"type": "session_settings", "audio": {"encoding": "mp3"}}
    settings = _judged(url, profile, tmp_path, _bad("session_settings", bad))
    assert settings.level is Level.SHOULD


def test_taking_bad_input_is_at_most_lenient(served: Served, tmp_path: Path) -> None:
    """A tool_response for no tool_call, answered as if it had one: SHOULD, never MUST."""
    url = served([UNKNOWN_TOOL_CALL_ACCEPTED.name])
    message = {"type": "tool_response", "tool_call_id": "never-issued", "content": "x"}
    judged = _judged(url, _profile(tmp_path), tmp_path, _bad("tool_response", message))
    assert judged.level is Level.SHOULD, judged
    assert judged.reason.startswith("accepted tool_response leniently")


def test_witness_hears_a_leak(served: Served, tmp_path: Path) -> None:
    """With user_messages sent to every chat, EVI-FUZZ-002's witness fails the case."""
    url = served([CROSS_CHAT_LEAK.name])
    with pytest.raises(Violation) as failed:
        _run_case(CASES["EVI-FUZZ-002"], url, _profile(tmp_path), tmp_path, max_examples=3)
    assert failed.value.level in (None, Level.MUST)
    assert "another chat got" in str(failed.value)
