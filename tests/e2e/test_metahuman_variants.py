"""Every variant of the reference server is observable on the wire, and absent without it.

A variant reads an [open] point of PROTOCOLS.md §1 another way (reference/variants.py); each
observation runs against the clean server (it must see nothing) and against the server with
the variant (it must see the other reading), like the faults of test_faults.py. The variant
matrix (every case passes with the variant's profile) is the selftest's; here the pieces: each
variant's profile is a valid profile, and the per-part audio judging of MH-DELTA-008..010.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

import pytest
import yaml

from conformance import audio, protocols
from conformance.engine.transcript import Transcript
from conformance.profiles import load_profile
from conformance.protocols.metahuman.cases.deltas import _part_decoded, parts
from conformance.protocols.metahuman.events import ResponseType
from conformance.protocols.metahuman.reference import variants as v
from conformance.protocols.metahuman.reference.deltas import byte_slices, plan
from conformance.protocols.metahuman.reference.deltas import parts as planned_parts
from conformance.protocols.metahuman.reference.errors import CATALOGUE
from conformance.protocols.providers import speech
from conformance.transports.base import Refused, TransportError
from conformance.transports.socketio import SocketIOPeer
from tests.conftest import PeerFactory, ServerFactory, chunks, fixture_audio, session_update
from tests.e2e.turns import Turn, configure, delta_audio, joins_unknown_session, turn

VariantServer = Callable[[Iterable[str]], Awaitable[str]]
Observation = Callable[[str, PeerFactory], Awaitable[bool]]
OBSERVATIONS: dict[str, Observation] = {}


@pytest.fixture
def served(reference: ServerFactory) -> VariantServer:
    """Reference servers with variants on 127.0.0.1, port 0; each call gives a URL."""

    def start(names: Iterable[str] = ()) -> Awaitable[str]:
        return reference(variants=names)

    return start


def observes(name: str) -> Callable[[Observation], Observation]:
    def register(observation: Observation) -> Observation:
        OBSERVATIONS[name] = observation
        return observation

    return register


def observes_turn(name: str, predicate: Callable[[Turn], bool], *args: Any, **flags: Any) -> None:
    """An observation that is a predicate over one turn (chain unless `args` names a type)."""

    async def over_turn(url: str, peer: PeerFactory) -> bool:
        return predicate(await turn(url, peer, *args, **flags))

    OBSERVATIONS[name] = over_turn


def _decodes(data: bytes) -> bool:
    try:
        audio.decode(data)
    except audio.AudioDecodeError:
        return False
    return True


async def _answer(sender: SocketIOPeer, after: int) -> str:
    """The event that answered the last emit: session.updated or custom.error."""
    answer = await sender.wait_for(
        lambda e: e.event in ("session.updated", "custom.error"), 3, after=after
    )
    return answer.event


async def _connects(url: str, *, path: str, namespace: str) -> bool:
    peer = SocketIOPeer(url, name="sender", transcript=Transcript(), path=path, namespace=namespace)
    try:
        await peer.connect(2.0)
    except (Refused, TransportError):
        return False
    finally:
        await peer.close()
    return True


# --- the observations ----------------------------------------------------------------------


@observes("own-error-ids")
async def _own_error_ids(url: str, peer: PeerFactory) -> bool:
    sender = await peer(url, role="sender")
    await sender.emit("input.buffer.commit")  # before session.update
    error = await sender.wait_for("custom.error", 2.0)
    return bool(error.payload["errorId"] == v.OWN_ERRORS["session-not-configured"][0])


@observes("handshake-in-query")
async def _handshake_in_query(url: str, peer: PeerFactory) -> bool:
    # The auth payload names a Receiver of no session: refused, unless the auth is not read.
    return await joins_unknown_session(url, peer)


@observes("other-path")
async def _other_path(url: str, peer: PeerFactory) -> bool:
    return await _connects(url, path=v.OTHER_PATH_AT, namespace="/")


@observes("other-namespace")
async def _other_namespace(url: str, peer: PeerFactory) -> bool:
    path, namespace = v.OTHER_NAMESPACE_AT
    return await _connects(url, path=path, namespace=namespace)


@observes("role-less-single-socket")
async def _role_less(url: str, peer: PeerFactory) -> bool:
    # A socket that says it is a Sender hears the response on its own socket.
    sender = await peer(url, role="sender")
    await configure(sender, session_update())
    for chunk in chunks(fixture_audio(), 4096):
        await sender.emit("input.buffer.append", chunk)
    await sender.emit("input.buffer.commit")
    try:
        await sender.wait_for("response.text", 3.0)
    except TimeoutError:
        return False
    return True


@observes("refuse-unsupported-models")
async def _refuse_unsupported(url: str, peer: PeerFactory) -> bool:
    sender = await peer(url, role="sender")
    # Schema-valid: a model name is a free string; openai lists no such model.
    update = session_update(
        LLM={"provider": {"name": "openai", "title": "OpenAI"}, "model": "no-such-model"}
    )
    await sender.emit("session.update", update)
    return await _answer(sender, 0) == "custom.error"


@observes("lenient-optional-fields")
async def _lenient(url: str, peer: PeerFactory) -> bool:
    sender = await peer(url, role="sender")
    await sender.emit(
        "session.update",
        session_update(LLM={"stop": [["x"]], "temperature": "hot"}, TTS={"speed": "fast"}),
    )
    return await _answer(sender, 0) == "session.updated"


observes_turn("sentiment-absent", lambda t: "sentiment" not in t.transcribed)
observes_turn(
    "stream-byte-slices",
    lambda t: not all(_decodes(delta_audio(d)) for d in t.deltas),
    "stream",
)
observes_turn(
    "stream-total-number-known",
    lambda t: all(d["totalNumber"] == len(t.deltas) for d in t.deltas),
    "stream",
)
observes_turn(
    "done-not-last-unordered", lambda t: t.deltas[-1]["done"] is not True, is_ordered=False
)
observes_turn("wav-output", lambda t: {audio.sniff(delta_audio(d)) for d in t.deltas} == {"wav"})


@observes("larger-chunk-limit")
async def _larger_chunk_limit(url: str, peer: PeerFactory) -> bool:
    sender = await peer(url, role="sender")
    await configure(sender, session_update())
    after = len(sender.received)
    await sender.emit("input.buffer.append", base64.b64encode(bytes((1 << 20) + 1)).decode())
    answer = await sender.wait_for(
        lambda e: e.event in ("input.buffer.initialized", "custom.error"), 5, after=after
    )
    return answer.event == "input.buffer.initialized"


@observes("binary-chunks")
async def _binary_chunks(url: str, peer: PeerFactory) -> bool:
    # A base64 text chunk is refused; the same audio as bytes is taken.
    sender = await peer(url, role="sender")
    await configure(sender, session_update())
    answers = ("input.buffer.initialized", "custom.error")
    data = fixture_audio()[:4096]
    after = len(sender.received)
    await sender.emit("input.buffer.append", base64.b64encode(data).decode())
    text = await sender.wait_for(lambda e: e.event in answers, 3, after=after)
    if text.event != "custom.error":
        return False
    after = len(sender.received)
    await sender.emit("input.buffer.append", data)
    binary = await sender.wait_for(lambda e: e.event in answers, 3, after=after)
    return binary.event == "input.buffer.initialized"


def test_every_variant_has_an_observation() -> None:
    assert set(OBSERVATIONS) == set(v.VARIANTS)
    assert len(v.VARIANTS) >= 10


@pytest.mark.parametrize("name", sorted(v.VARIANTS))
async def test_variant_is_observable(name: str, served: VariantServer, peer: PeerFactory) -> None:
    """The other reading is seen with the variant, and not on the clean server."""
    observe = OBSERVATIONS[name]
    assert not await observe(await served(()), peer), f"{name} observed on the clean server"
    assert await observe(await served([name]), peer), f"{name} not observed with the variant"


# --- what each variant keeps ---------------------------------------------------------------


async def test_handshake_in_query_reads_the_query(served: VariantServer) -> None:
    """A Receiver naming an unknown session in the query is refused; a known one joins."""
    url = await served(["handshake-in-query"])
    transcript = Transcript()
    sender = SocketIOPeer(f"{url}?role=sender", name="sender", transcript=transcript)
    await sender.connect()
    session_id = await configure(sender, session_update())
    unknown = SocketIOPeer(
        f"{url}?role=receiver&sessionId={uuid.uuid4()}", name="stranger", transcript=transcript
    )
    with pytest.raises(Refused):
        await unknown.connect()
    receiver = SocketIOPeer(
        f"{url}?role=receiver&sessionId={session_id}", name="receiver", transcript=transcript
    )
    await receiver.connect()
    for made in (sender, unknown, receiver):
        await made.close()


async def test_other_namespace_serves_nothing_at_the_default(served: VariantServer) -> None:
    url = await served(["other-namespace"])
    assert not await _connects(url, path="/socket.io", namespace="/")


async def test_refuse_unsupported_models_accepts_the_profile(
    served: VariantServer, peer: PeerFactory
) -> None:
    """The built-in profile's models (whisper-1, gpt-4o, tts-1/alloy) stay accepted."""
    from conformance.protocols import plugin

    update = dict(plugin("metahuman").builtin_profile()["session_update"])
    url = await served(["refuse-unsupported-models"])
    sender = await peer(url, role="sender")
    await sender.emit("session.update", update)
    assert await _answer(sender, 0) == "session.updated"
    voice = session_update(LLM={"provider": {"name": "openai", "title": "OpenAI"}})
    voice["TTS"]["voice"] = "Amy"  # an aws voice, not an openai one
    after = len(sender.received)
    await sender.emit("session.update", voice)
    assert await _answer(sender, after) == "custom.error"


async def test_lenient_still_refuses_what_it_cannot_serve(
    served: VariantServer, peer: PeerFactory
) -> None:
    url = await served(["lenient-optional-fields"])
    sender = await peer(url, role="sender")
    bad_type = session_update()
    bad_type["TTS"]["responseType"] = {"name": "whisper", "title": "Whisper"}
    no_provider = session_update()
    del no_provider["STT"]["provider"]
    for update in (bad_type, no_provider, {"STT": 1}):
        after = len(sender.received)
        await sender.emit("session.update", update)
        assert await _answer(sender, after) == "custom.error"


async def test_stream_byte_slices_join_per_part(served: VariantServer, peer: PeerFactory) -> None:
    """Each text part's deltas, joined in id order, give one mp3 that decodes."""
    url = await served(["stream-byte-slices"])
    t = await turn(url, peer, "stream", is_ordered=False)
    grouped = parts(list(t.deltas), "stream")
    assert len(grouped) > 1
    for part in grouped:
        joined = b"".join(delta_audio(d) for d in part)
        assert audio.sniff(joined) == "mp3"
        assert audio.duration_ms(audio.decode(joined)) > 0
        assert all(audio.sniff(delta_audio(d)) is None for d in part[1:])


async def test_done_not_last_unordered_keeps_ordered_mode(
    served: VariantServer, peer: PeerFactory
) -> None:
    url = await served(["done-not-last-unordered"])
    t = await turn(url, peer)
    assert [d["id"] for d in t.deltas] == sorted(d["id"] for d in t.deltas)
    assert t.deltas[-1]["done"] is True


@pytest.mark.parametrize("name", sorted(v.VARIANTS))
def test_variant_profile_is_a_valid_profile(name: str, tmp_path: Path) -> None:
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump({"protocol": "metahuman", **v.VARIANTS[name].profile}))
    profile = load_profile(path, protocols.profile_of("metahuman"))
    assert set(v.VARIANTS[name].profile) <= set(profile.data)


def test_own_error_ids_cover_the_catalogue() -> None:
    assert set(v.OWN_ERRORS) == {kind.name for kind in CATALOGUE}
    own = {error_id for error_id, _ in v.OWN_ERRORS.values()}
    assert not own & {kind.error_id for kind in CATALOGUE}


# --- per-part judging (MH-DELTA-008..010) ----------------------------------------------------


def _delta(id: int, part_done: bool, data: bytes) -> dict[str, Any]:
    return {"id": id, "streamPartDone": part_done, "audio": base64.b64encode(data).decode()}


def test_parts_group_stream_deltas_by_stream_part_done() -> None:
    deltas = [_delta(2, True, b"c"), _delta(0, False, b"a"), _delta(1, True, b"b")]
    deltas.append(_delta(3, False, b"d"))  # no closing streamPartDone: still a part
    assert [[d["id"] for d in p] for p in parts(deltas, "stream")] == [[0, 1], [2], [3]]
    assert [[d["id"] for d in p] for p in parts(deltas, "chain")] == [[0], [1], [2], [3]]


def test_a_part_decodes_joined_or_as_whole_files() -> None:
    first = audio.encode(speech("one two three"), "mp3")
    second = audio.encode(speech("four five"), "mp3")
    sliced = byte_slices(first, [3, 2, 1])
    assert not any(_decodes(piece) for piece in sliced[1:])
    ms, problem = _part_decoded(sliced)
    assert not problem
    assert ms > 0
    # Whole files one after another are a part's audio too.
    ms, problem = _part_decoded([first, second])
    assert not problem
    assert ms >= audio.duration_ms(audio.decode(first))
    # A part with a slice missing, or noise, does not decode.
    assert _part_decoded([sliced[0], b"\x00" * 64])[1]
    assert _part_decoded([b"\x11" * 512])[1]


def test_byte_slices_join_back_and_follow_the_plan() -> None:
    data = audio.encode(speech("a sentence of several words here"), "mp3")
    for weights in ([1], [5, 5], [9, 1, 4, 4]):
        pieces = byte_slices(data, weights)
        assert len(pieces) == len(weights)
        assert all(pieces)
        assert b"".join(pieces) == data
    planned = plan("One two three four five six. Seven.", ResponseType.STREAM)
    assert [[d.id for d in p] for p in planned_parts(planned)] == [[0, 1], [2]]


async def test_clean_stream_deltas_each_decode(served: VariantServer, peer: PeerFactory) -> None:
    """Without the variant every stream delta is a whole file (MH-DELTA-013 passes)."""
    t = await turn(await served(()), peer, "stream")
    assert all(_decodes(delta_audio(d)) for d in t.deltas)
