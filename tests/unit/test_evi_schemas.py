"""The EVI schemas (schemas/evi/), read through conformance.schemas, against seed 003 and the
newest SDK (hume 0.14.1)."""

from __future__ import annotations

import copy
import json
import re
import warnings
from typing import Any

import pydantic
import pytest
from jsonschema import Draft202012Validator

from conformance import schemas
from conformance.resources import schemas_dir

with warnings.catch_warnings():  # the SDK imports websockets.legacy, which warns
    warnings.filterwarnings("ignore", "websockets.legacy is deprecated", DeprecationWarning)
    from hume.empathic_voice import EmotionScores, SubscribeEvent

PROTOCOL = "evi"

CLIENT = (
    "session_settings",
    "audio_input",
    "user_input",
    "assistant_input",
    "pause_assistant_message",
    "resume_assistant_message",
    "tool_response",
    "tool_error",
)
SERVER = (
    "chat_metadata",
    "user_message",
    "assistant_message",
    "assistant_prosody",
    "audio_output",
    "assistant_end",
    "user_interruption",
    "tool_call",
    "error",
)
HTTP = ("config.request", "config.response")

# The seed's non-optional fields (and PROTOCOLS.md §3's where the seed's diff hides them), plus
# audio_output.index; `type` is required everywhere.
REQUIRED: dict[str, tuple[str, ...]] = {
    "session_settings": (),
    "audio_input": ("data",),
    "user_input": ("text",),
    "assistant_input": ("text",),
    "pause_assistant_message": (),
    "resume_assistant_message": (),
    "tool_response": ("tool_call_id", "content"),
    "tool_error": ("tool_call_id", "error"),
    "chat_metadata": ("chat_group_id", "chat_id"),
    "user_message": ("message", "models", "time", "from_text"),
    "assistant_message": ("message", "models", "from_text"),
    "assistant_prosody": ("models",),
    "audio_output": ("id", "index", "data"),
    "assistant_end": (),
    "user_interruption": ("time",),
    "tool_call": ("name", "parameters", "tool_call_id", "response_required"),
    "error": ("code", "slug", "message"),
}
# Fields SDK 0.14.1 requires that the seed does not: optional here (a SHOULD of the suite).
SDK_ONLY_REQUIRED = {
    "user_message": ("interim",),
    "assistant_message": ("is_quick_response",),
    "tool_call": ("tool_type",),
}
ENUMS = {
    "ContextType": ["editable", "persistent", "temporary"],
    "ToolType": ["builtin", "function"],
    "ErrorLevel": ["warn"],
    "Encoding": ["linear16"],
    "BuiltInTool": ["web_search"],
    "Role": ["assistant", "system", "user", "all", "tool", "context"],
}


def _violations(message: str, payload: Any) -> list[tuple[str, str]]:
    return [(v.path, v.message) for v in schemas.errors(PROTOCOL, message, payload)]


def _example(message: str) -> dict[str, Any]:
    """The AsyncAPI document's examples for `message`, merged: every field any of them has."""
    merged: dict[str, Any] = {}
    for payload in schemas.examples(PROTOCOL, message):
        merged = _merge(merged, payload)
    return merged


def _merge(base: Any, over: Any) -> Any:
    if isinstance(base, dict) and isinstance(over, dict):
        return {**base, **{key: _merge(base.get(key), value) for key, value in over.items()}}
    return copy.deepcopy(over)


def _edited(message: str, pointer: str, value: Any) -> dict[str, Any]:
    """The example with the value at `pointer` replaced (None removes it)."""
    payload = copy.deepcopy(_example(message))
    *parents, last = pointer.strip("/").split("/")
    node: Any = payload
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if value is None:
        del node[last]
    else:
        node[last] = value
    return payload


# -- discovery and files --------------------------------------------------------------------------


def test_messages_are_named_by_type() -> None:
    """One schema per client and server message, named by its `type`, plus the config bodies."""
    assert PROTOCOL in schemas.protocols()
    assert schemas.messages(PROTOCOL) == sorted((*CLIENT, *SERVER, *HTTP))
    for name in (*CLIENT, *SERVER):
        assert schemas.schema(PROTOCOL, name)["properties"]["type"]["const"] == name


def test_schema_ids_mirror_the_files() -> None:
    """Each file's $id follows the other protocols' pattern, and is a valid 2020-12 schema."""
    for name in [*schemas.messages(PROTOCOL), "definitions"]:
        document = schemas.schema(PROTOCOL, name)
        assert document["$id"] == (
            f"https://conformance.local/schemas/{PROTOCOL}/messages/{name}.schema.json"
        )
        assert document["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        Draft202012Validator.check_schema(document)


def test_every_ref_resolves() -> None:
    """Every schema file inlines completely (each $ref resolves through the registry), and
    every $ref of the AsyncAPI document reaches a part of it or of a schema file on disk."""
    for name in [*schemas.messages(PROTOCOL), "definitions"]:
        assert '"$ref"' not in json.dumps(schemas.bundled(PROTOCOL, name))
    document = schemas.asyncapi(PROTOCOL)
    refs = re.findall(r'"\$ref": "([^"]+)"', json.dumps(document))
    assert len(refs) > 60
    for ref in refs:
        path, _, pointer = ref.partition("#")
        target: Any = document
        if path:
            target = json.loads((schemas_dir(PROTOCOL) / path).read_text(encoding="utf-8"))
        for part in filter(None, pointer.split("/")):
            target = target[part]
        assert target, ref


# -- examples -------------------------------------------------------------------------------------


@pytest.mark.parametrize("message", schemas.messages(PROTOCOL))
def test_every_example_validates(message: str) -> None:
    """Every message has examples in the AsyncAPI document, and each conforms."""
    found = schemas.examples(PROTOCOL, message)
    assert found
    for payload in found:
        assert _violations(message, payload) == []


@pytest.mark.parametrize("message", SERVER)
def test_server_examples_parse_with_the_sdk(message: str) -> None:
    """hume 0.14.1's strict union parses every server example as the model of its type."""
    adapter: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(SubscribeEvent)
    for payload in schemas.examples(PROTOCOL, message):
        assert adapter.validate_python(payload).type == message


# -- required, optional and extra fields ----------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "field"),
    [(m, f) for m, fields in REQUIRED.items() for f in ("type", *fields)],
)
def test_required_fields_are_the_seeds(message: str, field: str) -> None:
    """Dropping a field the seed requires is reported at the root; the set is the seed's."""
    assert _violations(message, _edited(message, field, None)) == [
        ("", f"{field!r} is a required property")
    ]
    assert schemas.schema(PROTOCOL, message)["required"] == ["type", *REQUIRED[message]]


@pytest.mark.parametrize(
    ("message", "field"), [(m, f) for m, fields in SDK_ONLY_REQUIRED.items() for f in fields]
)
def test_fields_only_the_sdk_requires_are_optional(message: str, field: str) -> None:
    """A field only SDK 0.14.1 requires may be absent; its schema says seed vs SDK."""
    assert _violations(message, _edited(message, field, None)) == []
    property_schema = schemas.schema(PROTOCOL, message)["properties"][field]
    assert "seed:" in property_schema["$comment"]
    assert "SDK 0.14.1" in property_schema["$comment"]


@pytest.mark.parametrize("message", schemas.messages(PROTOCOL))
def test_extra_fields_are_allowed(message: str) -> None:
    """An unknown field is accepted (the SDK's models allow extras), and the schema says so."""
    assert _violations(message, {**_example(message), "voice_id": "v-1"}) == []
    assert "extra fields are allowed" in schemas.schema(PROTOCOL, message)["description"]


# -- broken payloads -------------------------------------------------------------------------------

BROKEN = [
    # (message, pointer, value, path of the violation)
    ("user_input", "/text", 42, "/text"),
    ("user_input", "/type", "user_message", "/type"),
    ("audio_input", "/data", None, ""),
    ("session_settings", "/audio/sample_rate", "16k", "/audio/sample_rate"),
    ("session_settings", "/audio/encoding", "mp3", "/audio/encoding"),
    ("session_settings", "/audio/channels", 0, "/audio/channels"),
    ("session_settings", "/context/type", "forever", "/context/type"),
    ("session_settings", "/tools/0/type", "plugin", "/tools/0/type"),
    ("session_settings", "/tools/0/parameters", {"type": "object"}, "/tools/0/parameters"),
    ("session_settings", "/builtin_tools/0/name", "hang_up", "/builtin_tools/0/name"),
    ("session_settings", "/variables/user_name", 7, "/variables/user_name"),
    ("tool_error", "/level", "fatal", "/level"),
    ("tool_response", "/tool_type", "remote", "/tool_type"),
    ("chat_metadata", "/chat_id", 7, "/chat_id"),
    ("user_message", "/time/end", "later", "/time/end"),
    ("user_message", "/message/role", "robot", "/message/role"),
    ("user_message", "/models/prosody/scores/Joy", None, "/models/prosody/scores"),
    ("user_message", "/from_text", "false", "/from_text"),
    ("assistant_message", "/models", [], "/models"),
    ("audio_output", "/index", -1, "/index"),
    ("audio_output", "/index", "0", "/index"),
    ("user_interruption", "/time", 1.5, "/time"),
    ("tool_call", "/response_required", None, ""),
    ("error", "/slug", None, ""),
    (
        "config.request",
        "/timeouts/inactivity/duration_secs",
        0,
        "/timeouts/inactivity/duration_secs",
    ),
    (
        "config.request",
        "/timeouts/max_duration/duration_secs",
        1801,
        "/timeouts/max_duration/duration_secs",
    ),
    ("config.request", "/timeouts/inactivity/enabled", None, "/timeouts/inactivity"),
]


@pytest.mark.parametrize(
    ("message", "pointer", "value", "path"),
    BROKEN,
    ids=[f"{row[0]}:{row[1]}={row[2]!r}" for row in BROKEN],
)
def test_broken_payload_is_rejected_at_its_path(
    message: str, pointer: str, value: Any, path: str
) -> None:
    """A missing required field, a wrong type or a value outside an enumeration or range is a
    violation, reported at the offending value."""
    violations = _violations(message, _edited(message, pointer, value))
    assert violations, "the broken payload was accepted"
    assert {found for found, _ in violations} == {path}, violations


def test_context_may_be_null() -> None:
    """session_settings.context null disables context injection (the seed)."""
    assert _violations("session_settings", _edited("session_settings", "/context", None)) == []
    payload = {**_example("session_settings"), "context": None}
    assert _violations("session_settings", payload) == []


# -- enumerations and shared types ----------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(ENUMS))
def test_enumerations(name: str) -> None:
    """Each enumeration holds the seed's values (the SDK's where the seed's diff hides them)."""
    definition = schemas.schema(PROTOCOL, "definitions")["$defs"][name]
    assert definition["enum"] == ENUMS[name]
    assert "seed:" in definition["$comment"]


def test_emotion_scores_are_the_sdks_48_wire_names() -> None:
    """EmotionScores requires exactly the 48 names SDK 0.14.1 reads off the wire (aliases)."""
    definition = schemas.schema(PROTOCOL, "definitions")["$defs"]["EmotionScores"]
    aliases = {info.alias for info in EmotionScores.model_fields.values()}
    assert len(definition["required"]) == 48
    assert set(definition["required"]) == aliases
    assert set(definition["properties"]) == aliases


def test_timeouts_accept_one_to_1800_seconds() -> None:
    """A timeout's duration_secs is 1..1800 (the seed's docs); enabled alone is enough."""
    for seconds in (1, 600, 1800):
        body = {
            "name": "c",
            "timeouts": {"inactivity": {"enabled": True, "duration_secs": seconds}},
        }
        assert _violations("config.request", body) == []
    assert (
        _violations(
            "config.request", {"name": "c", "timeouts": {"max_duration": {"enabled": False}}}
        )
        == []
    )


# -- the AsyncAPI document ------------------------------------------------------------------------


def test_asyncapi_server_and_auth() -> None:
    """AsyncAPI 3.0.0, the ws server at /v0/evi/chat, its query and header credentials."""
    document = schemas.asyncapi(PROTOCOL)
    assert document["asyncapi"] == "3.0.0"
    [server] = document["servers"].values()
    assert (server["protocol"], server["pathname"]) == ("ws", "/v0/evi/chat")
    binding = document["channels"]["chat"]["bindings"]["ws"]
    assert {"api_key", "access_token", "config_id", "resumed_chat_group_id"} <= set(
        binding["query"]["properties"]
    )
    assert "X-Hume-Api-Key" in binding["headers"]["properties"]
    assert "[default]" in server["description"]


def test_asyncapi_operations() -> None:
    """The client sends the client messages and receives the server's (and, as the seed's
    union has them, tool results and a session_settings echo)."""
    seen: dict[str, set[str]] = {}
    for operation in schemas.asyncapi(PROTOCOL)["operations"].values():
        assert operation["channel"] == {"$ref": "#/channels/chat"}
        for message in operation["messages"]:
            name = message["$ref"].removeprefix("#/channels/chat/messages/")
            seen.setdefault(operation["action"], set()).add(name)
    assert seen["send"] == set(CLIENT)
    assert seen["receive"] == {*SERVER, "tool_response", "tool_error", "session_settings"}


def test_asyncapi_payloads_are_the_schema_files() -> None:
    """Every component message names its schema file as its payload; the config API is x-http."""
    document = schemas.asyncapi(PROTOCOL)
    components = document["components"]["messages"]
    assert set(components) == set(schemas.messages(PROTOCOL))
    for name, message in components.items():
        assert message["name"] == name
        assert message["payload"] == {"$ref": f"./messages/{name}.schema.json"}
    configs = document["x-http"]["configs"]
    assert (configs["method"], configs["path"]) == ("POST", "/v0/evi/configs")
    assert set(configs["responses"]) == {"201", "400", "401"}
