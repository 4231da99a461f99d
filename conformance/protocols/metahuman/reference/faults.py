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
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from conformance import audio
from conformance.protocols.metahuman.reference.deltas import PlannedDelta

__all__ = ["FAULTS", "ActiveFaults", "Fault"]

_SEMANTICS = "PROTOCOLS.md §1 [default] audio-delta semantics"

PlanRewrite = Callable[[list[PlannedDelta]], list[PlannedDelta]]
PayloadRewrite = Callable[[int, dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True, slots=True, kw_only=True)
class Fault:
    name: str
    summary: str
    clause: str
    source: str
    rewrite_plan: PlanRewrite | None = None
    rewrite_payload: PayloadRewrite | None = None


FAULTS: dict[str, Fault] = {}


def _fault(
    name: str,
    summary: str,
    *,
    clause: str,
    source: str,
    rewrite_plan: PlanRewrite | None = None,
    rewrite_payload: PayloadRewrite | None = None,
) -> Fault:
    if name in FAULTS:
        raise ValueError(f"fault {name!r} registered twice")
    fault = Fault(
        name=name,
        summary=summary,
        clause=clause,
        source=source,
        rewrite_plan=rewrite_plan,
        rewrite_payload=rewrite_payload,
    )
    FAULTS[name] = fault
    return fault


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
DELTA_IDS_FROM_ONE = _fault(
    "delta-ids-from-one",
    "delta ids run 1..totalNumber instead of 0..totalNumber-1",
    clause="`id` runs 0 … totalNumber-1, each exactly once",
    source=_SEMANTICS,
    rewrite_plan=lambda ds: [_replace(d, id=d.id + 1) for d in ds],
)
DONE_ON_EVERY_DELTA = _fault(
    "done-on-every-delta",
    "`done` is true on every delta",
    clause="`done` is true on exactly one delta, the last",
    source=_SEMANTICS,
    rewrite_plan=lambda ds: [_replace(d, done=True) for d in ds],
)
WRONG_TOTAL_NUMBER = _fault(
    "wrong-total-number",
    "`totalNumber` is one more than the deltas sent",
    clause="`id` runs 0 … `totalNumber`-1, each exactly once",
    source=_SEMANTICS,
    rewrite_plan=lambda ds: [
        _replace(d, total_number=d.total_number + 1) if d.total_number else d for d in ds
    ],
)
DUPLICATE_DELTA = _fault(
    "duplicate-delta",
    "the first delta is sent twice",
    clause="`id` runs 0 … totalNumber-1, each exactly once",
    source=_SEMANTICS,
    rewrite_plan=lambda ds: [ds[0], *ds],
)
MISSING_DELTA = _fault(
    "missing-delta",
    "one delta in the middle of the response is never sent",
    clause="`id` runs 0 … totalNumber-1, each exactly once",
    source=_SEMANTICS,
    rewrite_plan=_drop_middle,
)
UNORDERED_DELTAS = _fault(
    "unordered-deltas",
    "the first two deltas are swapped although `TTS.isOrdered` is true",
    clause="with `TTS.isOrdered` true deltas arrive in id order",
    source=_SEMANTICS,
    rewrite_plan=_swap_first_two,
)
MISSING_STREAM_PART_DONE = _fault(
    "missing-stream-part-done",
    "`streamPartDone` is never true",
    clause="`streamPartDone` is true on the last delta of each text part",
    source=_SEMANTICS,
    rewrite_plan=lambda ds: [_replace(d, stream_part_done=False) for d in ds],
)
DELTA_TEXT_MISMATCH = _fault(
    "delta-text-mismatch",
    "the last delta's text loses its last word, so the texts no longer join to response.text",
    clause="the `text` of the parts, in id order, joins to the `response.text`",
    source=_SEMANTICS,
    rewrite_plan=_drop_last_word,
)
CORRUPT_AUDIO = _fault(
    "corrupt-audio",
    "the audio of every delta is replaced by bytes that are not audio",
    clause="the audio format is sniffed from its bytes and must decode",
    source=_SEMANTICS,
    rewrite_payload=_corrupt,
)
TRUNCATED_AUDIO = _fault(
    "truncated-audio",
    "every delta's audio is cut to its first 5% of bytes",
    clause="the audio must decode, to a duration that fits its text",
    source=_SEMANTICS,
    rewrite_payload=_truncate,
)
FORMAT_SWITCH = _fault(
    "format-switch",
    "deltas after the first carry WAV while the first carried the server's format",
    clause="all deltas of a response carry audio in the one format the server produces",
    source=_SEMANTICS,
    rewrite_payload=_switch_to_wav,
)
IS_BASE64_MISMATCH = _fault(
    "is-base64-mismatch",
    "the delta's `isBase64` flag is the opposite of the session's `TTS.isBase64`",
    clause="`isBase64` mirrors the session's `TTS.isBase64`",
    source=_SEMANTICS,
    rewrite_payload=_flip_is_base64,
)
SLOW_FIRST_AUDIO = _fault(
    "slow-first-audio",
    "the first audio delta of every response is held back for 8 seconds",
    clause="the first `response.audio.delta` arrives within the profile's audio timeout",
    source="profile timeouts (PROTOCOLS.md §1 transport [default])",
)

# --- session, buffer, transcription --------------------------------------------------------
UPDATED_ID_NOT_UUID = _fault(
    "updated-id-not-uuid",
    "`session.updated.sessionId` is not a UUID",
    clause="`session.updated` is `{sessionId: uuid, success: bool}`",
    source="seed 001 session.updated example; PROTOCOLS.md §1 operation 2",
)
SESSION_ID_CHANGES = _fault(
    "session-id-changes",
    "`input.buffer.initialized` carries a sessionId other than the one `session.updated` gave",
    clause="`input.buffer.initialized` is `{sessionId}` of the session",
    source="seed 001; PROTOCOLS.md §1 operation 4",
)
INITIALIZED_EVERY_CHUNK = _fault(
    "initialized-every-chunk",
    "`input.buffer.initialized` is sent for every chunk, not once per buffer",
    clause="`input.buffer.initialized` is sent when the first chunk of a buffer is received",
    source="seed 000 input.buffer.initialized; PROTOCOLS.md §1 operation 4",
)
NO_INITIALIZED = _fault(
    "no-initialized",
    "`input.buffer.initialized` is never sent",
    clause="`input.buffer.initialized` is sent when the first chunk of a buffer is received",
    source="seed 000 input.buffer.initialized; PROTOCOLS.md §1 operation 4",
)
MISSING_LANGUAGE = _fault(
    "missing-language",
    "`request.transcribe.done` has no `language`",
    clause="`request.transcribe.done` is `{text, sentiment, language}`",
    source="seed 001 request.transcribe.done example; PROTOCOLS.md §1 operation 6",
)
NO_ERROR_ON_EMPTY_COMMIT = _fault(
    "no-error-on-empty-commit",
    "a commit of an empty buffer is silently ignored",
    clause="a commit of an empty buffer is answered with `custom.error`",
    source="PROTOCOLS.md §1 [default] custom.error catalogue",
)
DISCONNECT_ON_BAD_UPDATE = _fault(
    "disconnect-on-bad-update",
    "a malformed `session.update` drops the connection instead of answering `custom.error`",
    clause="an invalid session config is answered with `custom.error`; the connection stays",
    source="PROTOCOLS.md §1 [default] custom.error catalogue",
)
ERROR_WITHOUT_ERROR_ID = _fault(
    "error-without-error-id",
    "`custom.error` has no `errorId`",
    clause="`custom.error` is `{message, errorId}`",
    source="seed 001 input.buffer.commit custom.error example",
)

# --- robustness: bad input (read by the fuzzer) --------------------------------------------
_ROBUSTNESS = "PROTOCOLS.md §1 [default] custom.error catalogue"
_STAYS_USABLE = (
    "bad input gets `custom.error`; the connection stays usable; nothing reaches another session"
)
DISCONNECT_ON_MALFORMED_PAYLOAD = _fault(
    "disconnect-on-malformed-payload",
    "an event whose payload violates its message schema (a `session.update` that is not a "
    "valid config, an append chunk that is not a string, a commit that carries a payload) drops "
    "the connection instead of answering `custom.error`",
    clause=_STAYS_USABLE,
    source=_ROBUSTNESS,
)
SESSION_CRASH_ON_INVALID_BASE64 = _fault(
    "session-crash-on-invalid-base64",
    "an append chunk that is not valid base64 kills its session without a word: every later "
    "event of the session is ignored while the socket stays connected",
    clause=_STAYS_USABLE,
    source=_ROBUSTNESS,
)
SILENTLY_DROP_BAD_MESSAGE = _fault(
    "silently-drop-bad-message",
    "bad input is dropped without a word: no `custom.error` is ever sent",
    clause=_STAYS_USABLE,
    source=_ROBUSTNESS,
)
ERROR_WRONG_SHAPE = _fault(
    "error-wrong-shape",
    '`custom.error` is `{"error": message, "code": "errorId"}` (the id as a string) instead '
    "of `{message, errorId}`",
    clause="`custom.error` is `{message, errorId}`",
    source=f"{_ROBUSTNESS}; seed 001 input.buffer.commit custom.error example",
)

# --- roles and isolation -------------------------------------------------------------------
TEXT_TO_SENDER_ONLY = _fault(
    "text-to-sender-only",
    "`response.text` goes to the Sender only, never to the Receivers",
    clause="`response.text` is sent to the Receiver",
    source="seed 000 response.text (#Receiver); PROTOCOLS.md §1 operation 7",
)
LEAK_TO_OTHER_SESSION = _fault(
    "leak-to-other-session",
    "responses are broadcast to the Receivers of every session",
    clause="a response goes to the Receivers of its own session and no other",
    source="PROTOCOLS.md §1 transport [default] (a Receiver joins a session by sessionId)",
)
ACCEPT_UNKNOWN_RECEIVER = _fault(
    "accept-unknown-receiver",
    "a Receiver naming an unknown sessionId is accepted instead of refused",
    clause="a Receiver joins an existing session by `sessionId`; a refused connection is "
    "CONNECT_ERROR `{message, data}`",
    source="PROTOCOLS.md §1 transport [default]",
)


class ActiveFaults:
    """The faults one server runs with."""

    def __init__(self, names: Iterable[str] = ()) -> None:
        unknown = sorted(set(names) - FAULTS.keys())
        if unknown:
            raise KeyError(
                f"unknown fault(s) {', '.join(unknown)}; known: {', '.join(sorted(FAULTS))}"
            )
        self.faults = tuple(FAULTS[name] for name in FAULTS if name in set(names))

    def active(self, fault: Fault) -> bool:
        return fault in self.faults

    def rewrite_plan(self, deltas: list[PlannedDelta]) -> list[PlannedDelta]:
        for fault in self.faults:
            if fault.rewrite_plan is not None and deltas:
                deltas = fault.rewrite_plan(deltas)
        return deltas

    def rewrite_payload(self, index: int, payload: dict[str, Any]) -> dict[str, Any]:
        for fault in self.faults:
            if fault.rewrite_payload is not None:
                payload = fault.rewrite_payload(index, payload)
        return payload

    def __bool__(self) -> bool:
        return bool(self.faults)
