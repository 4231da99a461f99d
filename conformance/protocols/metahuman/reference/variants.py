"""Legitimate variants of the reference server (`conformance serve --variant NAME`).

Each reads an [open] point of PROTOCOLS.md another way than the reference's [default]; every
case must pass against it with the variant's profile (tests/selftest/test_variant_matrix.py).
The server reads `variants.active(VARIANT)` at the one place each acts.
"""

from __future__ import annotations

from collections.abc import Mapping

from conformance.protocols.metahuman.reference import errors as e
from conformance.protocols.variants import ActiveVariants, ServerVariant, VariantRegistry

__all__ = [
    "CHUNK_LIMIT_BYTES",
    "OTHER_NAMESPACE_AT",
    "OTHER_PATH_AT",
    "OWN_ERRORS",
    "VARIANTS",
    "ActiveVariants",
    "ServerVariant",
]

VARIANTS = VariantRegistry()

_ERROR_IDS = "PROTOCOLS.md §1 open points: what `custom.error.errorId` values mean"
_HANDSHAKE = "PROTOCOLS.md §1 Transport: the handshake fields"
_PATH = (
    "PROTOCOLS.md §1 Transport: whether `/socketioproduction` is the Engine.IO path, a "
    "namespace, or `localhost/socketio` followed by the server's name `production`"
)
_SEMANTICS = "PROTOCOLS.md §1 open points: audio-delta semantics"

# --- errors --------------------------------------------------------------------------------

# The errorId and wording a server with its own catalogue uses for each of the reference's kinds.
OWN_ERRORS: Mapping[str, tuple[int, str]] = {
    e.INVALID_SESSION_CONFIG.name: (4000, "Bad session configuration"),
    e.SESSION_NOT_CONFIGURED.name: (4010, "No session: configure it with session.update"),
    e.INVALID_CHUNK.name: (4020, "Audio chunk rejected"),
    e.AUDIO_NOT_DECODABLE.name: (4030, "Could not read the recorded audio"),
    e.EMPTY_BUFFER.name: (4040, "Nothing to commit"),
    e.PAYLOAD_TOO_LARGE.name: (4130, "Audio chunk too big"),
    e.PROVIDER_FAILURE.name: (5020, "Upstream AI provider error"),
    e.UNKNOWN_EVENT.name: (4050, "Event not allowed"),
    e.INTERNAL_ERROR.name: (5000, "Something went wrong"),
}
OWN_ERROR_IDS = VARIANTS.add(
    "own-error-ids",
    "custom.error carries the server's own errorIds (4000 invalid config, 4010 not configured, "
    "4020 bad chunk, 4030 undecodable audio, 4040 empty commit, 4130 too large, 4050 event not "
    "allowed, 5000/5020 server/provider) and its own message wording",
    open_point=_ERROR_IDS,
    profile={
        "errors": {
            "invalid_session_config": 4000,
            "session_not_configured": 4010,
            "invalid_chunk": 4020,
            "audio_not_decodable": 4030,
            "empty_buffer": 4040,
            "payload_too_large": 4130,
        },
        "limits": {"oversized_chunk_bytes": 1048577},
    },
)

# --- handshake and transport ----------------------------------------------------------------

HANDSHAKE_IN_QUERY = VARIANTS.add(
    "handshake-in-query",
    "role, sessionId and token are read from the connection's query string "
    "(`?role=receiver&sessionId=...`); the CONNECT auth payload is ignored",
    open_point=_HANDSHAKE,
    profile={
        "roles": {
            "sender": {"auth": None, "query": {"role": "sender"}},
            "receiver": {
                "auth": None,
                "query": {"role": "receiver", "sessionId": "{sessionId}"},
            },
        }
    },
)
OTHER_PATH_AT = "/socketioproduction"
OTHER_PATH = VARIANTS.add(
    "other-path",
    f"Socket.IO is served at the Engine.IO path `{OTHER_PATH_AT}` (namespace `/`), the seed's "
    "`socketio://localhost/socketioproduction` read as a path",
    open_point=_PATH,
    profile={"transport": {"path": OTHER_PATH_AT, "namespace": "/"}},
)
OTHER_NAMESPACE_AT = ("/socketio", "/production")
OTHER_NAMESPACE = VARIANTS.add(
    "other-namespace",
    f"Socket.IO is served at path `{OTHER_NAMESPACE_AT[0]}` in the namespace "
    f"`{OTHER_NAMESPACE_AT[1]}` (the seed's server line read as `localhost/socketio` plus the "
    "server's name `production`)",
    open_point=_PATH,
    profile={"transport": {"path": OTHER_NAMESPACE_AT[0], "namespace": OTHER_NAMESPACE_AT[1]}},
)
ROLE_LESS_SINGLE_SOCKET = VARIANTS.add(
    "role-less-single-socket",
    "the single-client deployment only: the handshake's role is ignored and every socket is "
    "the Sender and the Receiver of its own session (no Receiver joins by sessionId)",
    open_point=f"{_HANDSHAKE} (a socket that names no role acts as both Sender and Receiver)",
    profile={
        "roles": {"sender": {"auth": None}, "receiver_socket": "sender"},
        "capabilities": {"receiver_join": False},
    },
)

# --- session.update --------------------------------------------------------------------------

REFUSE_UNSUPPORTED_MODELS = VARIANTS.add(
    "refuse-unsupported-models",
    "a schema-valid session.update naming a model or voice its provider does not list in the "
    "seed is refused with custom.error (invalid session config) instead of accepted",
    open_point="PROTOCOLS.md §1 general readings: a server may refuse a schema-valid request "
    "it does not support (per-provider model and voice lists of the Enumerations)",
    profile={},
)
LENIENT_OPTIONAL_FIELDS = VARIANTS.add(
    "lenient-optional-fields",
    "a session.update whose optional fields are malformed (LLM.stop, temperature, maxToken, "
    "TTS.speed, voice, ... of a wrong type) is accepted with those fields defaulted; missing "
    "sections or providers and an unknown TTS.responseType are still refused",
    open_point="PROTOCOLS.md §1 general readings: lenient parsing of input that breaks a schema "
    "where the server can still serve it",
    profile={},
)

# --- transcription -------------------------------------------------------------------------

SENTIMENT_ABSENT = VARIANTS.add(
    "sentiment-absent",
    "request.transcribe.done has no `sentiment` key when STT.sentimentAnalysis is false "
    '(instead of `""`)',
    open_point="PROTOCOLS.md §1 open points: `sentiment` when `STT.sentimentAnalysis` is false",
    profile={},
)

# --- audio deltas --------------------------------------------------------------------------

STREAM_BYTE_SLICES = VARIANTS.add(
    "stream-byte-slices",
    "in `stream`, each text part's audio is one mp3 file split at arbitrary byte boundaries "
    "over the part's deltas (streamPartDone on its last), so one delta alone does not decode",
    open_point=f"{_SEMANTICS} (what must decode is the audio of one text part)",
    profile={"capabilities": {"audio_formats": ["mp3"]}},
)
STREAM_TOTAL_NUMBER_KNOWN = VARIANTS.add(
    "stream-total-number-known",
    "in `stream`, every delta carries the final `totalNumber` (the server synthesizes the "
    "whole answer before sending), instead of 0 until the final delta",
    open_point=f"{_SEMANTICS} (in `stream`, `totalNumber` may be 0 until the final delta)",
    profile={},
)
DONE_NOT_LAST_UNORDERED = VARIANTS.add(
    "done-not-last-unordered",
    "with `TTS.isOrdered` false the delta with `done` true (the highest id) is sent before "
    "the last one to arrive, as parallel synthesis finishing out of order would",
    open_point=f"{_SEMANTICS} (with `TTS.isOrdered` false deltas arrive in any order)",
    profile={},
)
WAV_OUTPUT = VARIANTS.add(
    "wav-output",
    "TTS audio is WAV (16-bit PCM) instead of mp3",
    open_point=f"{_SEMANTICS} (the audio format is sniffed from its bytes; the seed names none)",
    profile={"capabilities": {"audio_formats": ["wav"]}},
)

# --- input chunks -------------------------------------------------------------------------

BINARY_CHUNKS = VARIANTS.add(
    "binary-chunks",
    "input.buffer.append takes audio only as a Socket.IO binary attachment (bytes); a string "
    "chunk is refused with custom.error (invalid chunk)",
    open_point="PROTOCOLS.md §1 open points: the chunk encoding of `input.buffer.append`",
    profile={"transport": {"chunk_encoding": "binary"}},
)

# --- limits --------------------------------------------------------------------------------

CHUNK_LIMIT_BYTES = 2 << 20
LARGER_CHUNK_LIMIT = VARIANTS.add(
    "larger-chunk-limit",
    f"an input.buffer.append chunk may be up to {CHUNK_LIMIT_BYTES >> 20} MiB (decoded) "
    "instead of 1 MiB",
    open_point="PROTOCOLS.md §1 open points: the custom.error catalogue (payload too large: the "
    "seed states no size limit)",
    profile={"limits": {"oversized_chunk_bytes": CHUNK_LIMIT_BYTES + 1}},
)
