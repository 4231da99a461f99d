"""The MetaHuman AI Chat schemas (schemas/metahuman/) and their loader, conformance.schemas."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urldefrag, urljoin

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Resource

from conformance import schemas
from conformance.resources import schemas_dir

PROTOCOL = "metahuman"

# The events of seed 000, in its order.
SEED_MESSAGES = (
    "session.update",
    "session.updated",
    "input.buffer.append",
    "input.buffer.initialized",
    "input.buffer.commit",
    "connect_error",
    "custom.error",
    "request.transcribe.done",
    "response.text",
    "response.audio.delta",
)

# The examples of seed 001, copied by hand from the seed (input.buffer.commit has none there).
SEED_EXAMPLES: dict[str, Any] = {
    "session.update": {
        "STT": {
            "provider": {"name": "openai", "title": "OpenAI"},
            "model": "whisper-1",
            "mediaFormat": "mp3",
            "languageCode": "en-US",
            "sentimentAnalysis": False,
            "prompt": "string",
        },
        "LLM": {
            "model": "gpt-4o",
            "prompt": "You are useful MetaHuman assistant",
            "temperature": 1,
            "stop": ["string"],
            "maxToken": 0,
            "provider": {"name": "aigames", "title": "AI_Games"},
            "name": "string",
            "stream": False,
        },
        "TTS": {
            "provider": {"name": "openai", "title": "OpenAI"},
            "model": "tts-1",
            "responseType": {"name": "single", "title": "Single"},
            "languageCode": "en-US",
            "voice": "string",
            "speed": 4,
            "ssmlGender": {"name": "unspecified", "title": "Unspecified"},
            "stream": False,
            "isBase64": True,
            "isOrdered": False,
        },
    },
    "session.updated": {"sessionId": "32a5e96a-c35d-4e97-8ee0-a2166057feac", "success": True},
    "input.buffer.append": "string",
    "input.buffer.initialized": {"sessionId": "32a5e96a-c35d-4e97-8ee0-a2166057feac"},
    "connect_error": {
        "name": "string",
        "message": "string",
        "data": {"message": "string", "statusCode": 0},
    },
    "custom.error": {"message": "string", "errorId": 0},
    "request.transcribe.done": {"text": "string", "sentiment": "string", "language": "string"},
    "response.text": {"text": "string"},
    "response.audio.delta": {
        "id": 0,
        "text": "string",
        "audio": "string",
        "isBase64": True,
        "done": True,
        "streamPartDone": True,
        "totalNumber": 0,
    },
}

# The seed's {name, title} enumerations, in its order.
SEED_PAIRS: dict[str, list[tuple[str, str]]] = {
    "STT_Provider": [
        ("openai", "OpenAI"),
        ("aws", "AWS"),
        ("google", "Google"),
        ("mistral", "Mistral"),
    ],
    "LLM_Provider": [
        ("aigames", "AI_Games"),
        ("openai", "OpenAI"),
        ("aws", "AWS"),
        ("azure", "Azure"),
        ("clarity", "Clarity"),
        ("bayer", "Bayer"),
    ],
    "TTS_Provider": [
        ("openai", "OpenAI"),
        ("aws", "AWS"),
        ("azure", "Azure"),
        ("google", "Google"),
    ],
    "TtsResponseType": [("single", "Single"), ("chain", "Chain"), ("stream", "Stream")],
    "SsmlGender": [
        ("unspecified", "Unspecified"),
        ("neutral", "Neutral"),
        ("male", "Male"),
        ("female", "Female"),
    ],
    "llmAwsModel": [
        ("anthropic.claude-v2", "Anthropic_Claude_v2"),
        ("anthropic.claude-v1", "Anthropic_claude_v1"),
        ("anthropic.claude-instant-v1", "Anthropic_claude_instant_v1"),
    ],
}

# The seed's string lists: how many values, the first and the last.
SEED_LISTS: dict[str, tuple[int, str, str]] = {
    "sttOpenAiModel": (3, "whisper-1", "gpt_4o_mini_transcribe"),
    "sttMistralModel": (2, "voxtral-mini-latest", "voxtral-small-latest"),
    "llmOpenAiModel": (54, "gpt-4.1", "gpt-3.5-turbo-16k-0613"),
    "llmAzureModel": (20, "gpt-35-turbo", "anthropic.claude-opus-4-20250514-v1:0"),
    "llmAiGamesModel": (4, "ATLAS", "RHEA"),
    "llmBayerModel": (46, "o4-mini", "gpt-4.1"),
    "ttsAzureModel": (6, "gpt-4", "gpt-5-codex"),
    "ttsOpenAiModel": (3, "tts-1", "gpt-4o-mini-tts"),
    "ttsAzureVoice": (4, "en-US-JennyNeural", "en-US-NancyNeural"),
    "ttsOpenAiVoice": (11, "alloy", "verse"),
    "ttsAwsVoice": (95, "Aditi", "Zhiyu"),
}
# "No available models (used a default model)".
SEED_EMPTY_LISTS = ("sttAwsModel", "sttGoogleModel", "llmClarityModel", "ttsAwsModel")
SEED_ENUMERATIONS = (*SEED_PAIRS, *SEED_LISTS, *SEED_EMPTY_LISTS)


def _mutated(message: str, op: str, pointer: str, value: Any = None) -> Any:
    """The first example of `message` with one JSON-pointer edit: "remove" or "set"."""
    document = schemas.examples(PROTOCOL, message)[0]
    if pointer == "":
        return value
    *parents, last = (p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:])
    node = document
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    key: Any = int(last) if isinstance(node, list) else last
    if op == "remove":
        del node[key]
    else:
        node[key] = value
    return document


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def _definition_validator(name: str) -> Draft202012Validator:
    definitions = schemas.schema(PROTOCOL, "definitions")["$id"]
    return Draft202012Validator(
        {"$ref": f"{definitions}#/$defs/{name}"},
        registry=schemas.registry(PROTOCOL),
        format_checker=FormatChecker(),
    )


# -- the messages and their examples ------------------------------------------------------------


def test_every_seed_message_has_a_schema_and_an_example() -> None:
    """Every event of the seed has a schema file and at least one example in the AsyncAPI doc."""
    known = schemas.messages(PROTOCOL)
    for message in SEED_MESSAGES:
        assert message in known
        assert schemas.examples(PROTOCOL, message), message
    assert set(known) == {*SEED_MESSAGES, "handshake.auth"}


@pytest.mark.parametrize("message", sorted(SEED_EXAMPLES))
def test_asyncapi_examples_are_the_seed_examples(message: str) -> None:
    """The AsyncAPI document carries each seed example exactly as seed 001 shows it."""
    assert schemas.examples(PROTOCOL, message) == [SEED_EXAMPLES[message]]


def test_commit_example_is_the_absent_argument() -> None:
    """input.buffer.commit, which has "No payload" in the seed, is exemplified by null."""
    assert schemas.examples(PROTOCOL, "input.buffer.commit") == [None]


@pytest.mark.parametrize(
    ("message", "payload"),
    [
        pytest.param(message, payload, id=f"{message}-{index}")
        for message in schemas.messages(PROTOCOL)
        for index, payload in enumerate(schemas.examples(PROTOCOL, message))
    ],
)
def test_every_example_validates(message: str, payload: Any) -> None:
    """Every example in the AsyncAPI document validates against its message schema."""
    assert schemas.errors(PROTOCOL, message, payload) == []


MUTATIONS = [
    # (message, op, pointer, value, the path of the violation)
    ("session.update", "remove", "/TTS", None, ""),
    ("session.update", "set", "/TTS", "openai", "/TTS"),
    ("session.update", "remove", "/STT/provider", None, "/STT"),
    ("session.update", "remove", "/LLM/provider/name", None, "/LLM/provider"),
    ("session.update", "set", "/STT/provider/name", "ibm", "/STT/provider/name"),
    ("session.update", "set", "/LLM/provider/name", "anthropic", "/LLM/provider/name"),
    ("session.update", "set", "/TTS/provider/name", "elevenlabs", "/TTS/provider/name"),
    ("session.update", "set", "/TTS/provider/name", 1, "/TTS/provider/name"),
    ("session.update", "set", "/TTS/provider/title", "AWS", "/TTS/provider/title"),
    ("session.update", "set", "/LLM/provider/title", "AI Games", "/LLM/provider/title"),
    ("session.update", "set", "/TTS/responseType/name", "batch", "/TTS/responseType/name"),
    ("session.update", "set", "/TTS/responseType/title", "Chain", "/TTS/responseType/title"),
    ("session.update", "set", "/TTS/ssmlGender/name", "other", "/TTS/ssmlGender/name"),
    ("session.update", "set", "/TTS/ssmlGender/title", "Male", "/TTS/ssmlGender/title"),
    ("session.update", "set", "/LLM/maxToken", -1, "/LLM/maxToken"),
    ("session.update", "set", "/LLM/maxToken", 1.5, "/LLM/maxToken"),
    ("session.update", "set", "/LLM/temperature", "1", "/LLM/temperature"),
    ("session.update", "set", "/LLM/stop", "string", "/LLM/stop"),
    ("session.update", "set", "/LLM/stop/0", 7, "/LLM/stop/0"),
    ("session.update", "set", "/LLM/model", "", "/LLM/model"),
    ("session.update", "set", "/LLM/model", {"name": ""}, "/LLM/model/name"),
    ("session.update", "set", "/LLM/stream", "false", "/LLM/stream"),
    ("session.update", "set", "/STT/model", "", "/STT/model"),
    ("session.update", "set", "/STT/sentimentAnalysis", 0, "/STT/sentimentAnalysis"),
    ("session.update", "set", "/STT/mediaFormat", None, "/STT/mediaFormat"),
    ("session.update", "set", "/TTS/voice", "", "/TTS/voice"),
    ("session.update", "set", "/TTS/speed", 0, "/TTS/speed"),
    ("session.update", "set", "/TTS/isBase64", "true", "/TTS/isBase64"),
    ("session.update", "set", "/TTS/isOrdered", None, "/TTS/isOrdered"),
    ("session.updated", "remove", "/success", None, ""),
    ("session.updated", "set", "/success", "true", "/success"),
    ("session.updated", "set", "/sessionId", "32a5e96a", "/sessionId"),
    ("session.updated", "set", "/sessionId", 42, "/sessionId"),
    ("input.buffer.append", "set", "", 123, ""),
    ("input.buffer.append", "set", "", {"chunk": "string"}, ""),
    ("input.buffer.initialized", "remove", "/sessionId", None, ""),
    ("input.buffer.initialized", "set", "/sessionId", "not-a-uuid", "/sessionId"),
    ("input.buffer.commit", "set", "", {}, ""),
    ("input.buffer.commit", "set", "", "string", ""),
    ("custom.error", "remove", "/message", None, ""),
    ("custom.error", "remove", "/errorId", None, ""),
    ("custom.error", "set", "/errorId", "0", "/errorId"),
    ("custom.error", "set", "/errorId", 0.5, "/errorId"),
    ("connect_error", "remove", "/message", None, ""),
    ("connect_error", "remove", "/data/statusCode", None, "/data"),
    ("connect_error", "set", "/data/statusCode", "0", "/data/statusCode"),
    ("connect_error", "set", "/data", "string", "/data"),
    ("connect_error", "set", "/name", 1, "/name"),
    ("request.transcribe.done", "remove", "/text", None, ""),
    ("request.transcribe.done", "remove", "/language", None, ""),
    ("request.transcribe.done", "set", "/sentiment", None, "/sentiment"),
    ("response.text", "remove", "/text", None, ""),
    ("response.text", "set", "/text", ["string"], "/text"),
    ("response.audio.delta", "remove", "/done", None, ""),
    ("response.audio.delta", "remove", "/totalNumber", None, ""),
    ("response.audio.delta", "set", "/id", -1, "/id"),
    ("response.audio.delta", "set", "/id", "0", "/id"),
    ("response.audio.delta", "set", "/totalNumber", 1.5, "/totalNumber"),
    ("response.audio.delta", "set", "/audio", 5, "/audio"),
    ("response.audio.delta", "set", "/isBase64", "true", "/isBase64"),
    ("response.audio.delta", "set", "/streamPartDone", None, "/streamPartDone"),
    ("handshake.auth", "set", "/role", "both", "/role"),
    ("handshake.auth", "set", "/sessionId", "abc", "/sessionId"),
    ("handshake.auth", "set", "/token", 1, "/token"),
]


@pytest.mark.parametrize(
    ("message", "op", "pointer", "value", "path"),
    [pytest.param(*row, id=f"{row[0]}:{row[1]}{row[2] or '/'}={row[3]!r}") for row in MUTATIONS],
)
def test_mutated_example_is_rejected_at_its_path(
    message: str, op: str, pointer: str, value: Any, path: str
) -> None:
    """A missing required field, a wrong type, a value outside an enumeration or a bad uuid
    is a violation, reported at the JSON pointer of the offending value (root: "")."""
    violations = schemas.errors(PROTOCOL, message, _mutated(message, op, pointer, value))
    assert violations, "the mutation was accepted"
    assert {violation.path for violation in violations} == {path}, violations


CONFORMING = [
    # (message, op, pointer, value): an edit of the first example that must still validate.
    ("request.transcribe.done", "remove", "/sentiment", None),
    ("request.transcribe.done", "set", "/sentiment", ""),
    ("session.update", "set", "/STT", {"provider": {"name": "aws"}}),
    ("session.update", "remove", "/TTS/provider/title", None),
    ("session.update", "set", "/LLM/model", "ATLAS"),
    ("session.update", "set", "/LLM/model", {"name": "anthropic.claude-v2"}),
    ("session.update", "set", "/TTS/voice", "en-US-JennyNeural"),
    ("session.update", "set", "/TTS/speed", 0.25),
    ("session.update", "set", "/LLM/maxToken", 4096),
    ("session.update", "set", "/extra", {"any": ["thing"]}),
    ("session.update", "set", "/STT/extra", 1),
    ("session.update", "set", "/TTS/provider/extra", True),
    ("session.updated", "set", "/success", False),
    ("session.updated", "set", "/extra", None),
    ("connect_error", "remove", "/name", None),
    ("connect_error", "remove", "/data", None),
    ("custom.error", "set", "/errorId", -3),
    ("response.audio.delta", "set", "/audio", b"\xff\xfb\x90\x00"),
    ("response.audio.delta", "set", "/extra", "x"),
    ("input.buffer.append", "set", "", b"ID3\x04\x00"),
    ("input.buffer.append", "set", "", ""),
    ("handshake.auth", "set", "", {}),
    ("handshake.auth", "set", "/role", "receiver"),
]


@pytest.mark.parametrize(
    ("message", "op", "pointer", "value"),
    [pytest.param(*row, id=f"{row[0]}:{row[1]}{row[2] or '/'}={row[3]!r}") for row in CONFORMING],
)
def test_edited_example_still_conforms(message: str, op: str, pointer: str, value: Any) -> None:
    """What the seed leaves open is accepted: absent sentiment, optional fields, free model and
    voice names, unknown extra fields, and bytes (a binary attachment) where a string goes."""
    assert schemas.errors(PROTOCOL, message, _mutated(message, op, pointer, value)) == []


def test_bytes_are_presented_as_strings_anywhere() -> None:
    """Bytes nested in objects and arrays are presented as strings, and only there."""
    payload = {"text": "string", "extra": [b"\x00", {"deep": bytearray(b"\x01")}]}
    assert schemas.errors(PROTOCOL, "response.text", payload) == []
    assert schemas.errors(PROTOCOL, "response.text", {"text": b"\x00"}) == []
    violations = schemas.errors(
        PROTOCOL, "response.audio.delta", _mutated("response.audio.delta", "set", "/id", b"\x00")
    )
    assert [violation.path for violation in violations] == ["/id"]


# -- the enumerations ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SEED_PAIRS))
def test_name_title_enumerations_are_the_seeds(name: str) -> None:
    """Each {name, title} enumeration accepts exactly the seed's names, each with its own title
    or none, and rejects another enumeration member's title."""
    validator = _definition_validator(name)
    pairs = SEED_PAIRS[name]
    for value, title in pairs:
        assert validator.is_valid({"name": value, "title": title})
        assert validator.is_valid({"name": value})
        assert not validator.is_valid({"name": value, "title": title.lower() + "!"})
    assert not validator.is_valid({"name": "unknown"})
    assert not validator.is_valid({"title": pairs[0][1]})
    if len(pairs) > 1:
        assert not validator.is_valid({"name": pairs[0][0], "title": pairs[1][1]})


@pytest.mark.parametrize("name", sorted(SEED_LISTS))
def test_string_enumerations_are_the_seeds(name: str) -> None:
    """Each model and voice list holds the seed's values, in the seed's order."""
    values = schemas.schema(PROTOCOL, "definitions")["$defs"][name]["enum"]
    count, first, last = SEED_LISTS[name]
    assert (len(values), values[0], values[-1]) == (count, first, last)
    assert len(set(values)) == len(values)


def test_lists_without_values_say_so() -> None:
    """The seed's providers without models are documented as using a default model."""
    definitions = schemas.schema(PROTOCOL, "definitions")["$defs"]
    for name in SEED_EMPTY_LISTS:
        assert "enum" not in definitions[name]
        assert "No available models (used a default model)" in definitions[name]["description"]


def test_seed_spellings_survive() -> None:
    """Odd spellings of the seed are kept, not tidied (underscore, non-breaking hyphens)."""
    definitions = schemas.schema(PROTOCOL, "definitions")["$defs"]
    assert "gpt_4o_mini_transcribe" in definitions["sttOpenAiModel"]["enum"]
    assert "GPT\u2011OSS\u2011120B" in definitions["llmBayerModel"]["enum"]
    assert _definition_validator("llmAwsModel").is_valid("anthropic.claude-instant-v1")
    assert definitions["llmAwsModel"]["default"] == "anthropic.claude-instant-v1"


def test_model_and_voice_lists_are_not_enforced() -> None:
    """session.update accepts any non-empty model or voice with any provider, as the seed's own
    example (aigames with gpt-4o, voice "string") requires."""
    payload = _mutated("session.update", "set", "/TTS/model", "not-a-tts-model")
    payload["STT"]["model"] = "gpt-4o"
    assert schemas.errors(PROTOCOL, "session.update", payload) == []


# -- the AsyncAPI document ----------------------------------------------------------------------


def test_asyncapi_info_and_server() -> None:
    """The document is AsyncAPI 3.0.0 with the seed's title, version and only server."""
    document = schemas.asyncapi(PROTOCOL)
    assert document["asyncapi"] == "3.0.0"
    assert (document["info"]["title"], document["info"]["version"]) == (
        "MetaHuman AI Chat",
        "1.0.0",
    )
    [server] = document["servers"].values()
    assert (server["protocol"], server["host"], server["pathname"]) == (
        "socketio",
        "localhost",
        "/socketioproduction",
    )
    assert "role" in server["description"]
    assert "sessionId" in server["description"]


def test_asyncapi_operations_per_role() -> None:
    """Each role sends and receives exactly the events the seed gives it."""
    document = schemas.asyncapi(PROTOCOL)
    seen: dict[tuple[str, str], set[str]] = {}
    for operation in document["operations"].values():
        [tag] = operation["tags"]
        channel = operation["channel"]["$ref"].removeprefix("#/channels/")
        seen.setdefault((tag["name"], operation["action"]), set()).add(channel)
        for message in operation["messages"]:
            assert message["$ref"].startswith(f"#/channels/{channel}/messages/")
    assert seen == {
        ("Sender", "send"): {"session.update", "input.buffer.append", "input.buffer.commit"},
        ("Sender", "receive"): {
            "session.updated",
            "input.buffer.initialized",
            "request.transcribe.done",
            "custom.error",
            "connect_error",
        },
        ("Receiver", "receive"): {"response.text", "response.audio.delta"},
    }


def test_asyncapi_channel_per_event_with_its_schema() -> None:
    """One channel per event, addressed by the event name, whose message's payload is the
    event's schema file."""
    document = schemas.asyncapi(PROTOCOL)
    assert set(document["channels"]) == set(SEED_MESSAGES)
    for name, channel in document["channels"].items():
        assert channel["address"] == name
        [reference] = channel["messages"].values()
        message = document["components"]["messages"][reference["$ref"].rsplit("/", 1)[1]]
        assert message["name"] == name
        assert message["payload"] == {"$ref": f"./messages/{name}.schema.json"}


def test_asyncapi_components_hold_every_enumeration() -> None:
    """components/schemas names every enumeration of the seed, each resolving to its list."""
    components = schemas.asyncapi(PROTOCOL)["components"]["schemas"]
    for name in SEED_ENUMERATIONS:
        assert components[name] == {"$ref": f"./messages/definitions.schema.json#/$defs/{name}"}


def test_every_ref_resolves() -> None:
    """Every $ref in the AsyncAPI document and in every schema file resolves, through the
    registry and on disk."""
    session_update = schemas.schema(PROTOCOL, "session.update")["$id"]
    document_uri = urljoin(session_update, "../asyncapi.yaml")
    document = schemas.asyncapi(PROTOCOL)
    registry = schemas.registry(PROTOCOL).with_resource(document_uri, Resource.opaque(document))
    sources = [(document_uri, document)] + [
        (schemas.schema(PROTOCOL, name)["$id"], schemas.schema(PROTOCOL, name))
        for name in [*schemas.messages(PROTOCOL), "definitions"]
    ]
    checked = 0
    for base, source in sources:
        resolver = registry.resolver(base)
        for ref in _refs(source):
            assert resolver.lookup(ref).contents not in (None, {}), (base, ref)
            checked += 1
    assert checked > 50
    for ref in _refs(document):
        if not ref.startswith("#"):
            assert (schemas_dir(PROTOCOL) / urldefrag(ref).url).is_file(), ref


def test_schema_ids_mirror_the_files() -> None:
    """Each schema's $id ends with its path under schemas/, so relative refs resolve alike
    through the registry and on disk, and each file is a valid 2020-12 schema."""
    for name in [*schemas.messages(PROTOCOL), "definitions"]:
        document = schemas.schema(PROTOCOL, name)
        assert document["$id"].endswith(f"/schemas/{PROTOCOL}/messages/{name}.schema.json")
        assert document["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        Draft202012Validator.check_schema(document)


# -- the loader ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda: schemas.messages("nope"),
        lambda: schemas.schema("nope", "session.update"),
        lambda: schemas.asyncapi("nope"),
        lambda: schemas.errors("nope", "session.update", {}),
    ],
)
def test_unknown_protocol_lists_the_known_ones(call: Callable[[], object]) -> None:
    """An unknown protocol raises KeyError naming the known protocols."""
    with pytest.raises(KeyError, match=r"unknown protocol 'nope'; known: .*metahuman"):
        call()


@pytest.mark.parametrize(
    "call",
    [
        lambda: schemas.schema(PROTOCOL, "session.create"),
        lambda: schemas.validator(PROTOCOL, "session.create"),
        lambda: schemas.errors(PROTOCOL, "session.create", {}),
        lambda: schemas.examples(PROTOCOL, "session.create"),
    ],
)
def test_unknown_message_lists_the_known_ones(call: Callable[[], object]) -> None:
    """An unknown message raises KeyError naming the protocol's known messages."""
    with pytest.raises(KeyError, match=r"unknown message 'session\.create'.*session\.update"):
        call()


def test_validator_is_cached_and_checks_formats() -> None:
    """validator() returns one cached validator per message, which asserts `format: uuid`."""
    validator = schemas.validator(PROTOCOL, "session.updated")
    assert validator is schemas.validator(PROTOCOL, "session.updated")
    assert not validator.is_valid({"sessionId": "not-a-uuid", "success": True})


def test_loader_returns_copies() -> None:
    """Changing what the loader returned changes nothing it returns next."""
    schemas.schema(PROTOCOL, "response.text")["required"].clear()
    schemas.asyncapi(PROTOCOL)["info"].clear()
    schemas.examples(PROTOCOL, "response.text")[0].clear()
    assert schemas.schema(PROTOCOL, "response.text")["required"] == ["text"]
    assert schemas.asyncapi(PROTOCOL)["info"]["title"] == "MetaHuman AI Chat"
    assert schemas.examples(PROTOCOL, "response.text") == [{"text": "string"}]
    assert schemas.errors(PROTOCOL, "response.text", {}) != []


def test_schema_violation_is_a_frozen_value() -> None:
    """SchemaViolation is a frozen, slotted (path, message) value that prints as path: message."""
    violation = schemas.SchemaViolation("", "'x' is a required property")
    assert str(violation) == "/: 'x' is a required property"
    assert not hasattr(violation, "__dict__")
    with pytest.raises(dataclasses.FrozenInstanceError):
        violation.path = "/x"  # type: ignore[misc]


def test_bundled_schema_has_no_ref_and_the_same_verdicts() -> None:
    """bundled() inlines every $ref, and the result accepts and rejects as the original does."""
    for keep in (True, False):
        bundled = schemas.bundled(PROTOCOL, "session.update", annotations=keep)
        assert not list(_refs(bundled))
        validator = Draft202012Validator(bundled, format_checker=FormatChecker())
        assert validator.is_valid(SEED_EXAMPLES["session.update"])
        for row in MUTATIONS:
            if row[0] == "session.update":
                assert not validator.is_valid(_mutated(*row[:4])), row


# -- generation ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def session_update_strategy() -> st.SearchStrategy[Any]:
    """A hypothesis-jsonschema strategy for session.update (an object schema)."""
    schema = schemas.bundled(PROTOCOL, "session.update", annotations=False)
    assert schema["type"] == "object"
    strategy: st.SearchStrategy[Any] = from_schema(schema)
    return strategy


@settings(
    # few: each draw is slow (below), and the pin breaks at the first draw
    max_examples=12,
    deadline=None,
    database=None,
    derandomize=True,
    # Every object of session.update is open (unknown fields allowed), so hypothesis-jsonschema
    # draws arbitrary JSON for extra fields: draws are slow, and many overrun and are discarded.
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(data=st.data())
def test_generated_session_updates_validate(
    session_update_strategy: st.SearchStrategy[Any], data: st.DataObject
) -> None:
    """12 payloads drawn from the session.update schema by hypothesis-jsonschema all validate;
    this also pins hypothesis<6.170.10, with which generating from an object schema raises
    AttributeError ('many' object has no attribute 'more'), see shared/DEPENDENCIES.md."""
    payload = data.draw(session_update_strategy)
    assert schemas.errors(PROTOCOL, "session.update", payload) == []
