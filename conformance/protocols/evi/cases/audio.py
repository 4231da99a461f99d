"""Audio turns: the fixture speech streamed as audio_input in several ways, each transcribed.

Linear16 PCM declared in session_settings.audio, at any chunk size (odd byte counts too, so a
sample straddles two messages) and rate; slices of a WAV or WebM file without settings. All the
ways run at once, each on its own chat (one exchange), so the run waits for one of them.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from conformance.engine.catalogue import Variant
from conformance.engine.context import CaseContext, Env
from conformance.engine.model import Level
from conformance.fixtures import clip
from conformance.protocols.evi.cases.common import (
    CATALOGUE,
    OPEN,
    SDK,
    answered,
    exchange,
    heads,
    played,
    seed,
    shown,
    together,
    words,
)
from conformance.protocols.evi.client import Chat, EviClient, Turn
from conformance.protocols.evi.events import Server

AREA = CATALOGUE.area(
    "audio turn", source=seed("audio_input", "session_settings.audio", "user_message")
)
# How close a transcript must be to the clip's text (word sequence similarity): a real
# speech-to-text may differ in a word.
SIMILAR = 0.8


@dataclass(frozen=True, slots=True, kw_only=True)
class Way:
    """One way of streaming the speech."""

    label: str
    container: str | None = None  # a file format, sliced; None: linear16 PCM
    rate: int | None = None  # PCM Hz; None: the profile's audio.sample_rate
    chunk: int | None = None  # bytes per audio_input; None: the profile's audio.chunk_ms
    declared: str = "message"  # PCM declared by a session_settings "message", or "query"
    verbose: bool = False  # verbose_transcription=true
    answered: bool = False  # wait for the answer's end, not only the final transcript


WAYS = (
    Way(label="pcm", answered=True),
    Way(label="pcm-4099b", chunk=4099),
    Way(label="pcm-1021b", chunk=1021),
    Way(label="pcm-44k1", rate=44100),
    Way(label="wav", container="wav", chunk=4096),
    Way(label="webm", container="webm", chunk=1024),
    Way(label="query", declared="query"),
    Way(label="verbose", verbose=True),
)
TRANSCRIBED = [w for w in WAYS if w.label not in ("query", "verbose")]


def _offered(env: Env, way: Way) -> bool:
    capabilities = env.profile.section("capabilities")
    if way.container is not None:
        return way.container in capabilities.get("container_audio", [])
    return not way.verbose or bool(capabilities.get("verbose_transcription"))


@dataclass(slots=True, kw_only=True)
class Heard:
    way: Way
    chat: Chat
    turn: Turn
    chunks: int


async def _stream(env: Env, client: EviClient, way: Way) -> Heard:
    rate = way.rate or int(env.profile.section("audio").get("sample_rate", 16000))
    query: dict[str, Any] = {"verbose_transcription": True} if way.verbose else {}
    pcm = client.pcm_settings(rate)
    if way.container is None and way.declared == "query":
        chat = await client.open(way.label, query=query, settings={"audio": pcm})
    else:
        chat = await client.open(way.label, query=query)
    if way.container is None and way.declared == "message":
        await client.settings(chat, audio=pcm)
    if way.container is None:
        data, chunk = client.pcm(rate), way.chunk or client.chunk_bytes(rate)
        seconds = len(data) / 2 / rate
    else:
        data, chunk = client.container(way.container), way.chunk or 4096
        seconds = clip(str(env.profile.section("audio").get("fixture"))).duration_ms / 1000 + 1
    turn = await client.audio_turn(chat, data, chunk, seconds, answered=way.answered)
    return Heard(way=way, chat=chat, turn=turn, chunks=-(-len(data) // chunk))


@exchange("audio")
async def audio_turns(env: Env) -> dict[str, Heard]:
    """Every way the profile offers, at once, each on its own chat."""
    async with EviClient(env) as client:
        ways = [w for w in WAYS if _offered(env, w)]
        heard = await together(*(_stream(env, client, w) for w in ways))
        return {h.way.label: h for h in heard}


async def heard(ctx: CaseContext, label: str) -> Heard:
    turns: dict[str, Heard] = await played(ctx, "audio")
    if label not in turns:
        ctx.unsupported(f"the profile does not offer the {label} audio input")
    return turns[label]


def final(turn: Turn) -> Mapping[str, Any] | None:
    """The turn's final user_message (interim false), if any."""
    return next(
        (m for m in reversed(turn.payloads(Server.USER_MESSAGE)) if m.get("interim") is False),
        None,
    )


def transcribed(ctx: CaseContext, h: Heard) -> Mapping[str, Any]:
    """FAILED unless the speech got a final user_message, from audio; NON-STRICT unless its
    text is the clip's."""
    message = final(h.turn)
    what = f"the speech ({h.way.label}, {h.chunks} audio_input messages)"
    if message is None:
        users = h.turn.payloads(Server.USER_MESSAGE)
        errors = h.turn.of(Server.ERROR)
        ctx.fail(
            f"{what} got an error instead of a transcript"
            if errors
            else f"{what} got no final user_message"
            + (" (only interim ones)" if users else "")
            + f" within {ctx.timeouts.transcription.cited}",
            expected="a user_message with interim false",
            observed=shown(heads(h.turn.events)),
        )
    ctx.check(
        message.get("from_text") is False,
        f"the user_message of {what} has from_text {message.get('from_text')!r}",
        expected="from_text: false (speech, not a User Input)",
        observed=shown(message),
    )
    text = clip(str(ctx.profile.section("audio").get("fixture"))).text
    content = (message.get("message") or {}).get("content", "")
    ratio = difflib.SequenceMatcher(None, words(content), words(text)).ratio()
    ctx.check(
        ratio >= SIMILAR,
        f"the transcript of {what} is not the clip's text (word similarity {ratio:.2f})",
        expected=text,
        observed=str(content),
        level=Level.SHOULD,
    )
    return message


@AREA.case(
    "EVI-AUD-001",
    title="Speech is transcribed",
    clause="Speech streamed as audio_input (linear16 at the declared rate in chunks of any "
    "size, or slices of a WAV or WebM file) gets a final user_message (interim false, "
    "from_text false) with what was said (its wording: SHOULD).",
    level=Level.MUST,
    variants=[
        Variant(
            label=w.label,
            params={"way": w.label},
            requires={"container_audio": w.container} if w.container else {},
        )
        for w in TRANSCRIBED
    ],
)
async def speech_transcribed(ctx: CaseContext) -> None:
    transcribed(ctx, await heard(ctx, ctx.params["way"]))


@AREA.case(
    "EVI-AUD-002",
    title="Speech is answered",
    clause="A user's utterance (speech, then silence) is answered: assistant_message(s), "
    "audio_output, assistant_end.",
    level=Level.MUST,
    source=seed("audio_input", "assistant_message", "assistant_end"),
)
async def speech_answered(ctx: CaseContext) -> None:
    h = await heard(ctx, "pcm")
    if final(h.turn) is None:
        ctx.blocked("the speech got no final transcript (see EVI-AUD-001[pcm])")
    answered(ctx, h.turn, "the speech")


def _interim_flags(turn: Turn) -> list[Any]:
    """Each user_message's `interim`, in arrival order."""
    return [m.get("interim") for m in turn.payloads(Server.USER_MESSAGE)]


@AREA.case(
    "EVI-AUD-003",
    title="Interim transcripts come before the final one",
    clause="With verbose_transcription=true, interim user_messages (interim true) precede the "
    "final one, and none follows it.",
    level=Level.MUST,
    source=f"{SDK} connect(verbose_transcription); {seed('user_message')}",
    requires={"verbose_transcription": True},
)
async def interim_first(ctx: CaseContext) -> None:
    h = await heard(ctx, "verbose")
    flags = _interim_flags(h.turn)
    if False not in flags:
        transcribed(ctx, h)
    last_final = len(flags) - 1 - flags[::-1].index(False)
    ctx.check(
        all(flag is False for flag in flags[last_final:]) and flags.count(False) == 1,
        "an interim user_message follows the final one, or there are several final ones",
        expected="interim: true ..., then one interim: false",
        observed=f"interim flags in arrival order: {flags}",
    )


@AREA.case(
    "EVI-AUD-004",
    title="verbose_transcription gives interim transcripts",
    clause="With verbose_transcription=true, unfinalized transcripts are sent as interim "
    "user_messages (open: a server may have none; informational).",
    level=Level.MAY,
    source=f"{SDK} connect(verbose_transcription); {OPEN}",
    requires={"verbose_transcription": True},
)
async def interim_sent(ctx: CaseContext) -> None:
    h = await heard(ctx, "verbose")
    flags = _interim_flags(h.turn)
    ctx.check(
        True in flags,
        "no interim user_message came with verbose_transcription=true",
        expected="interim: true, then the final user_message",
        observed=f"interim flags: {flags}",
    )


@AREA.case(
    "EVI-AUD-005",
    title="The transcript of speech carries prosody",
    clause="The final user_message of speech carries models.prosody.scores, 48 expressions "
    "(open: a server may measure none; informational).",
    level=Level.MAY,
    source=f"{seed('user_message', 'Inference', 'ProsodyInference')}; {OPEN}",
)
async def prosody(ctx: CaseContext) -> None:
    h = await heard(ctx, "pcm")
    message = final(h.turn)
    if message is None:
        ctx.blocked("the speech got no final transcript (see EVI-AUD-001[pcm])")
    scores = ((message.get("models") or {}).get("prosody") or {}).get("scores")
    ctx.check(
        isinstance(scores, Mapping) and len(scores) == 48,
        "the transcript of speech carries no prosody scores of 48 expressions",
        expected="models.prosody.scores with 48 expressions",
        observed=shown(message.get("models")),
    )
