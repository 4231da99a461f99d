"""Defects a server implementer could ship, injected on demand (`conformance serve --fault`).

They exist for the suite's own mutation tests: every check of the catalogue must make at least
one of these FAILED, or it is a check that cannot fail. Each names the clause it breaks.
Delta faults rewrite the planned deltas or their payloads; the others are read by the server
at the one place they act (`faults.active(FAULT)`).
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
from collections.abc import Callable, Sequence
from typing import Any

from conformance import audio
from conformance.protocols.faults import ActiveFaults, FaultRegistry, ServerFault
from conformance.protocols.metahuman.reference.deltas import PlannedDelta

__all__ = [
    "FAULTS",
    "PAYLOAD_REWRITES",
    "PLAN_REWRITES",
    "ActiveFaults",
    "ServerFault",
    "rewrite_payload",
    "rewrite_plan",
]

_SEMANTICS = "PROTOCOLS.md §1 [default] audio-delta semantics"

PlanRewrite = Callable[[list[PlannedDelta]], list[PlannedDelta]]
PayloadRewrite = Callable[[int, dict[str, Any]], dict[str, Any]]

FAULTS = FaultRegistry()
# The delta faults act by rewriting the planned deltas or each delta's payload: MetaHuman's own
# extension of the shared fault model, keyed by the registered fault.
PLAN_REWRITES: dict[ServerFault, PlanRewrite] = {}
PAYLOAD_REWRITES: dict[ServerFault, PayloadRewrite] = {}


def _rewriting(
    name: str,
    summary: str,
    *,
    clause: str,
    source: str,
    caught_by: Sequence[str],
    plan: PlanRewrite | None = None,
    payload: PayloadRewrite | None = None,
) -> ServerFault:
    """Register a delta fault with its rewrite of the plan or of each payload."""
    fault = FAULTS.add(name, summary, clause=clause, source=source, caught_by=caught_by)
    if plan is not None:
        PLAN_REWRITES[fault] = plan
    if payload is not None:
        PAYLOAD_REWRITES[fault] = payload
    return fault


def rewrite_plan(faults: ActiveFaults, deltas: list[PlannedDelta]) -> list[PlannedDelta]:
    """The planned deltas as the active delta faults send them."""
    for fault in faults.faults:
        rewrite = PLAN_REWRITES.get(fault)
        if rewrite is not None and deltas:
            deltas = rewrite(deltas)
    return deltas


def rewrite_payload(faults: ActiveFaults, index: int, payload: dict[str, Any]) -> dict[str, Any]:
    """A delta's payload as the active delta faults send it."""
    for fault in faults.faults:
        rewrite = PAYLOAD_REWRITES.get(fault)
        if rewrite is not None:
            payload = rewrite(index, payload)
    return payload


def _replace(d: PlannedDelta, **changes: Any) -> PlannedDelta:
    return dataclasses.replace(d, **changes)


def _audio_bytes(payload: dict[str, Any]) -> bytes:
    data = payload["audio"]
    return data if isinstance(data, bytes) else base64.b64decode(data)


def _with_audio(payload: dict[str, Any], data: bytes) -> dict[str, Any]:
    was_bytes = isinstance(payload["audio"], bytes)
    return {**payload, "audio": data if was_bytes else base64.b64encode(data).decode()}


def _drop_middle(deltas: list[PlannedDelta]) -> list[PlannedDelta]:
    if len(deltas) < 2:
        return deltas
    i = len(deltas) // 2 if len(deltas) >= 3 else 0
    return [*deltas[:i], *deltas[i + 1 :]]


def _swap_first_two(deltas: list[PlannedDelta]) -> list[PlannedDelta]:
    return deltas if len(deltas) < 2 else [deltas[1], deltas[0], *deltas[2:]]


def _drop_last_word(deltas: list[PlannedDelta]) -> list[PlannedDelta]:
    last = deltas[-1]
    return [*deltas[:-1], _replace(last, text=" ".join(last.text.split()[:-1]) or "...")]


def _corrupt(index: int, payload: dict[str, Any]) -> dict[str, Any]:
    noise = hashlib.sha256(b"corrupt").digest() * 64
    return _with_audio(payload, noise[: max(64, len(_audio_bytes(payload)))])


def _truncate(index: int, payload: dict[str, Any]) -> dict[str, Any]:
    data = _audio_bytes(payload)
    return _with_audio(payload, data[: max(1, len(data) // 20)])


def _switch_to_wav(index: int, payload: dict[str, Any]) -> dict[str, Any]:
    if index == 0:
        return payload
    return _with_audio(payload, audio.encode(audio.decode(_audio_bytes(payload)), "wav"))


def _flip_is_base64(index: int, payload: dict[str, Any]) -> dict[str, Any]:
    return {**payload, "isBase64": not payload["isBase64"]}


# --- audio deltas -------------------------------------------------------------------------
DELTA_IDS_FROM_ONE = _rewriting(
    "delta-ids-from-one",
    "delta ids run 1..totalNumber instead of 0..totalNumber-1",
    clause="`id` runs 0 … totalNumber-1, each exactly once",
    source=_SEMANTICS,
    plan=lambda ds: [_replace(d, id=d.id + 1) for d in ds],
    caught_by=("MH-DELTA-002[*]",),
)
DONE_ON_EVERY_DELTA = _rewriting(
    "done-on-every-delta",
    "`done` is true on every delta",
    clause="`done` is true on exactly one delta, the last",
    source=_SEMANTICS,
    plan=lambda ds: [_replace(d, done=True) for d in ds],
    caught_by=("MH-DELTA-004[chain-*]", "MH-DELTA-004[stream-*]"),
)
WRONG_TOTAL_NUMBER = _rewriting(
    "wrong-total-number",
    "`totalNumber` is one more than the deltas sent",
    clause="`id` runs 0 … `totalNumber`-1, each exactly once",
    source=_SEMANTICS,
    plan=lambda ds: [
        _replace(d, total_number=d.total_number + 1) if d.total_number else d for d in ds
    ],
    caught_by=("MH-DELTA-003[*]",),
)
DUPLICATE_DELTA = _rewriting(
    "duplicate-delta",
    "the first delta is sent twice",
    clause="`id` runs 0 … totalNumber-1, each exactly once",
    source=_SEMANTICS,
    plan=lambda ds: [ds[0], *ds],
    caught_by=("MH-DELTA-002[*]",),
)
MISSING_DELTA = _rewriting(
    "missing-delta",
    "one delta in the middle of the response is never sent",
    clause="`id` runs 0 … totalNumber-1, each exactly once",
    source=_SEMANTICS,
    plan=_drop_middle,
    caught_by=("MH-DELTA-002[chain-*]", "MH-DELTA-002[stream-*]"),
)
UNORDERED_DELTAS = _rewriting(
    "unordered-deltas",
    "the first two deltas are swapped although `TTS.isOrdered` is true",
    clause="with `TTS.isOrdered` true deltas arrive in id order",
    source=_SEMANTICS,
    plan=_swap_first_two,
    caught_by=("MH-DELTA-011[chain-*]", "MH-DELTA-011[stream-*]"),
)
MISSING_STREAM_PART_DONE = _rewriting(
    "missing-stream-part-done",
    "`streamPartDone` is never true",
    clause="`streamPartDone` is true on the last delta of each text part",
    source=_SEMANTICS,
    plan=lambda ds: [_replace(d, stream_part_done=False) for d in ds],
    caught_by=("MH-DELTA-005[*]",),
)
DELTA_TEXT_MISMATCH = _rewriting(
    "delta-text-mismatch",
    "the last delta's text loses its last word, so the texts no longer join to response.text",
    clause="the `text` of the parts, in id order, joins to the `response.text`",
    source=_SEMANTICS,
    plan=_drop_last_word,
    caught_by=("MH-DELTA-006[*]",),
)
CORRUPT_AUDIO = _rewriting(
    "corrupt-audio",
    "the audio of every delta is replaced by bytes that are not audio",
    clause="the audio format is sniffed from its bytes and must decode",
    source=_SEMANTICS,
    payload=_corrupt,
    caught_by=("MH-DELTA-008[*]",),
)
TRUNCATED_AUDIO = _rewriting(
    "truncated-audio",
    "every delta's audio is cut to its first 5% of bytes",
    clause="the audio must decode, to a duration that fits its text",
    source=_SEMANTICS,
    payload=_truncate,
    caught_by=("MH-DELTA-008[*]",),
)
FORMAT_SWITCH = _rewriting(
    "format-switch",
    "deltas after the first carry WAV while the first carried the server's format",
    clause="all deltas of a response carry audio in the one format the server produces",
    source=_SEMANTICS,
    payload=_switch_to_wav,
    caught_by=("MH-DELTA-009[chain-*]", "MH-DELTA-009[stream-*]"),
)
IS_BASE64_MISMATCH = _rewriting(
    "is-base64-mismatch",
    "the delta's `isBase64` flag is the opposite of the session's `TTS.isBase64`",
    clause="`isBase64` mirrors the session's `TTS.isBase64`",
    source=_SEMANTICS,
    payload=_flip_is_base64,
    caught_by=("MH-DELTA-007[*]",),
)
SLOW_FIRST_AUDIO = FAULTS.add(
    "slow-first-audio",
    "the first audio delta of every response is held back for 8 seconds",
    clause="the first `response.audio.delta` arrives within the profile's audio timeout",
    source="profile timeouts (PROTOCOLS.md §1 transport [default])",
    caught_by=("MH-TIME-001",),
)
STALL_S = 3.0  # past the built-in timeouts.stall (2 s)
STALL_BEFORE_DONE = FAULTS.add(
    "stall-before-done",
    f"the last delta of every response is held back {STALL_S:g} s (then sent)",
    clause="once begun, the answer's deltas keep coming until done, within the profile's timeouts",
    source="profile timeouts (PROTOCOLS.md §1 transport [default])",
    caught_by=("MH-TIME-002[*]",),
)

# --- session, buffer, transcription --------------------------------------------------------
UPDATED_ID_NOT_UUID = FAULTS.add(
    "updated-id-not-uuid",
    "`session.updated.sessionId` is not a UUID",
    clause="`session.updated` is `{sessionId: uuid, success: bool}`",
    source="seed 001 session.updated example; PROTOCOLS.md §1 operation 2",
    caught_by=("MH-SES-002",),
)
SESSION_ID_CHANGES = FAULTS.add(
    "session-id-changes",
    "`input.buffer.initialized` carries a sessionId other than the one `session.updated` gave",
    clause="`input.buffer.initialized` is `{sessionId}` of the session",
    source="seed 001; PROTOCOLS.md §1 operation 4",
    caught_by=("MH-BUF-002",),
)
INITIALIZED_EVERY_CHUNK = FAULTS.add(
    "initialized-every-chunk",
    "`input.buffer.initialized` is sent for every chunk, not once per buffer",
    clause="`input.buffer.initialized` is sent when the first chunk of a buffer is received",
    source="seed 000 input.buffer.initialized; PROTOCOLS.md §1 operation 4",
    caught_by=("MH-BUF-003",),
)
NO_INITIALIZED = FAULTS.add(
    "no-initialized",
    "`input.buffer.initialized` is never sent",
    clause="`input.buffer.initialized` is sent when the first chunk of a buffer is received",
    source="seed 000 input.buffer.initialized; PROTOCOLS.md §1 operation 4",
    caught_by=("MH-BUF-001",),
)
MISSING_LANGUAGE = FAULTS.add(
    "missing-language",
    "`request.transcribe.done` has no `language`",
    clause="`request.transcribe.done` is `{text, sentiment, language}`",
    source="seed 001 request.transcribe.done example; PROTOCOLS.md §1 operation 6",
    caught_by=("MH-STT-002",),
)
NO_ERROR_ON_EMPTY_COMMIT = FAULTS.add(
    "no-error-on-empty-commit",
    "a commit of an empty buffer is silently ignored",
    clause="a commit of an empty buffer is answered with `custom.error`",
    source="PROTOCOLS.md §1 [default] custom.error catalogue",
    caught_by=("MH-ERR-005",),
)
DISCONNECT_ON_BAD_UPDATE = FAULTS.add(
    "disconnect-on-bad-update",
    "a malformed `session.update` drops the connection instead of answering `custom.error`",
    clause="an invalid session config is answered with `custom.error`; the connection stays",
    source="PROTOCOLS.md §1 [default] custom.error catalogue",
    caught_by=("MH-ERR-001",),
)
ERROR_WITHOUT_ERROR_ID = FAULTS.add(
    "error-without-error-id",
    "`custom.error` has no `errorId`",
    clause="`custom.error` is `{message, errorId}`",
    source="seed 001 input.buffer.commit custom.error example",
    caught_by=("MH-ERR-00[1-6]",),
)

# --- robustness: bad input (read by the fuzzer) --------------------------------------------
_ROBUSTNESS = "PROTOCOLS.md §1 [default] custom.error catalogue"
_STAYS_USABLE = (
    "bad input gets `custom.error`; the connection stays usable; nothing reaches another session"
)
DISCONNECT_ON_MALFORMED_PAYLOAD = FAULTS.add(
    "disconnect-on-malformed-payload",
    "an event whose payload violates its message schema (a `session.update` that is not a "
    "valid config, an append chunk that is not a string, a commit that carries a payload) drops "
    "the connection instead of answering `custom.error`",
    clause=_STAYS_USABLE,
    source=_ROBUSTNESS,
    caught_by=("MH-ERR-001",),
)
SESSION_CRASH_ON_INVALID_BASE64 = FAULTS.add(
    "session-crash-on-invalid-base64",
    "an append chunk that is not valid base64 kills its session without a word: every later "
    "event of the session is ignored while the socket stays connected",
    clause=_STAYS_USABLE,
    source=_ROBUSTNESS,
    caught_by=("MH-ERR-003",),
)
SILENTLY_DROP_BAD_MESSAGE = FAULTS.add(
    "silently-drop-bad-message",
    "bad input is dropped without a word: no `custom.error` is ever sent",
    clause=_STAYS_USABLE,
    source=_ROBUSTNESS,
    caught_by=("MH-ERR-00[1-6]",),
)
ERROR_WRONG_SHAPE = FAULTS.add(
    "error-wrong-shape",
    '`custom.error` is `{"error": message, "code": "errorId"}` (the id as a string) instead '
    "of `{message, errorId}`",
    clause="`custom.error` is `{message, errorId}`",
    source=f"{_ROBUSTNESS}; seed 001 input.buffer.commit custom.error example",
    caught_by=("MH-ERR-00[1-6]",),
)

# --- roles and isolation -------------------------------------------------------------------
TEXT_TO_SENDER_ONLY = FAULTS.add(
    "text-to-sender-only",
    "`response.text` goes to the Sender only, never to the Receivers",
    clause="`response.text` is sent to the Receiver",
    source="seed 000 response.text (#Receiver); PROTOCOLS.md §1 operation 7",
    caught_by=("MH-TXT-001",),
)
LEAK_TO_OTHER_SESSION = FAULTS.add(
    "leak-to-other-session",
    "responses are broadcast to the Receivers of every session",
    clause="a response goes to the Receivers of its own session and no other",
    source="PROTOCOLS.md §1 transport [default] (a Receiver joins a session by sessionId)",
    caught_by=("MH-ISO-001",),
)
ACCEPT_UNKNOWN_RECEIVER = FAULTS.add(
    "accept-unknown-receiver",
    "a Receiver naming an unknown sessionId is accepted instead of refused",
    clause="a Receiver joins an existing session by `sessionId`; a refused connection is "
    "CONNECT_ERROR `{message, data}`",
    source="PROTOCOLS.md §1 transport [default]",
    caught_by=("MH-HS-003",),
)

# --- under load: defects only concurrency shows (caught by `conformance load`, passed by a
# single-session `conformance run`: protocols/metahuman/load.py LOAD_KILL_MATRIX) -----------
# More open sessions than this and the defects below begin: a conformance run never has more
# than three open at once.
LOAD_BOUND = 4
LOAD_DELAY_S = 1.0  # latency-grows-with-sessions: the delay per open session over the bound
SHARED_INPUT_BUFFER = FAULTS.add(
    "shared-input-buffer",
    f"input buffers come from a pool of {LOAD_BOUND}: a session opened while {LOAD_BOUND} or "
    "more are open shares the buffer of an open one, emptied only when a turn on it ends, so the "
    "audio of two sessions mixes and one turn's end empties the other's buffer",
    clause="a session's input buffer holds the audio its own Sender appended; "
    "`input.buffer.initialized` announces its first chunk and its commit is transcribed",
    source="seed 000 input.buffer.initialized, request.transcribe.done; PROTOCOLS.md §1 "
    "operations 3-6",
    caught_by=("MH-BUF-001", "MH-STT-001"),
    under_load=True,
)
DELTAS_ACROSS_SESSIONS = FAULTS.add(
    "deltas-across-sessions",
    "one server-wide 'current response' routes the deltas: while responses of several sessions "
    "are under way, each delta goes to the session whose response began last",
    clause="a response goes to the Receivers of its own session and no other",
    source="PROTOCOLS.md §1 transport [default] (a Receiver joins a session by sessionId)",
    caught_by=("MH-DELTA-002[chain-base64-ordered]", "MH-ISO-001"),
    under_load=True,
)
LATENCY_GROWS_WITH_SESSIONS = FAULTS.add(
    "latency-grows-with-sessions",
    f"each open session over {LOAD_BOUND} holds back the first audio delta of every response "
    f"by {LOAD_DELAY_S:g} s more",
    clause="the first `response.audio.delta` arrives within the profile's audio timeout",
    source="profile timeouts (PROTOCOLS.md §1 transport [default])",
    caught_by=("MH-TIME-001",),
    under_load=True,
)
