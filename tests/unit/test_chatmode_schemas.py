"""The Chat Mode schemas (schemas/chatmode/), read through conformance.schemas."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any
from urllib.parse import urldefrag, urljoin

import pytest
from jsonschema import Draft202012Validator
from referencing import Resource

from conformance import schemas
from conformance.resources import schemas_dir

PROTOCOL = "chatmode"

MESSAGES = (
    "chat.text",
    "chat.voice",
    "connection.response",
    "jwt.error",
    "jwt.request",
    "jwt.response",
    "server.message",
)

# The two examples of seed 002, copied by hand from the seed.
SEED_TEXT: dict[str, Any] = {
    "avatar_id": "avatar-id-123",
    "user_id": "user-123",
    "chat_type": "text",
    "language": "en",
    "request": "Hello, how are you?",
    "requestType": "text",
    "source": "my-source-app-name",
    "isLive": False,
    "session": "session-identifier",
}
SEED_VOICE: dict[str, Any] = {
    "avatar_id": "avatar-id-123",
    "user_id": "user-123",
    "chat_type": "voice",
    "language": "en",
    "requestType": "audio",
    "source": "my-source-app-name",
    "isLive": False,
    "isPushToTalk": True,
    "file_base64_data": "UklGRiQAAABXQVZFZm10IBAAAAABAAEA...",
    "session": "session-identifier",
}
SEED = {"chat.text": SEED_TEXT, "chat.voice": SEED_VOICE}

# The fields the seed's tables mark required.
REQUIRED = {
    "chat.text": (
        "avatar_id",
        "user_id",
        "chat_type",
        "language",
        "request",
        "requestType",
        "source",
        "isLive",
    ),
    "chat.voice": (
        "avatar_id",
        "user_id",
        "chat_type",
        "language",
        "requestType",
        "source",
        "isLive",
        "file_base64_data",
    ),
}
OPTIONAL = {"chat.text": ("session",), "chat.voice": ("isPushToTalk", "session")}


def _violations(message: str, payload: Any) -> list[tuple[str, str]]:
    return [(v.path, v.message) for v in schemas.errors(PROTOCOL, message, payload)]


def _with(payload: dict[str, Any], **changes: Any) -> dict[str, Any]:
    edited = copy.deepcopy(payload)
    edited.update(changes)
    return edited


def _without(payload: dict[str, Any], field: str) -> dict[str, Any]:
    edited = copy.deepcopy(payload)
    del edited[field]
    return edited


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


# -- discovery ----------------------------------------------------------------------------------


def test_messages_lists_every_schema() -> None:
    """conformance.schemas discovers the chatmode protocol and lists its seven messages."""
    assert PROTOCOL in schemas.protocols()
    assert schemas.messages(PROTOCOL) == sorted(MESSAGES)


def test_schema_ids_mirror_the_files() -> None:
    """Each schema's $id follows the metahuman pattern with `chatmode`, and is valid 2020-12."""
    for name in MESSAGES:
        document = schemas.schema(PROTOCOL, name)
        assert document["$id"] == (
            f"https://conformance.local/schemas/{PROTOCOL}/messages/{name}.schema.json"
        )
        assert document["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert document["title"] == name
        Draft202012Validator.check_schema(document)


def test_every_ref_resolves() -> None:
    """Every $ref in the AsyncAPI document and in every schema file resolves, through the
    registry and on disk."""
    text_id = schemas.schema(PROTOCOL, "chat.text")["$id"]
    document_uri = urljoin(text_id, "../asyncapi.yaml")
    document = schemas.asyncapi(PROTOCOL)
    registry = schemas.registry(PROTOCOL).with_resource(document_uri, Resource.opaque(document))
    sources = [(document_uri, document)] + [
        (schemas.schema(PROTOCOL, name)["$id"], schemas.schema(PROTOCOL, name)) for name in MESSAGES
    ]
    checked = 0
    for base, source in sources:
        resolver = registry.resolver(base)
        for ref in _refs(source):
            assert resolver.lookup(ref).contents not in (None, {}), (base, ref)
            checked += 1
    assert checked >= 20
    for ref in _refs(document):
        if not ref.startswith("#"):
            assert (schemas_dir(PROTOCOL) / urldefrag(ref).url).is_file(), ref


# -- the seed's examples ------------------------------------------------------------------------


@pytest.mark.parametrize("message", sorted(SEED))
def test_asyncapi_examples_are_the_seed_examples(message: str) -> None:
    """The AsyncAPI document attaches the seed's example to its message, exactly."""
    assert schemas.examples(PROTOCOL, message) == [SEED[message]]


@pytest.mark.parametrize("message", sorted(SEED))
def test_seed_example_validates(message: str) -> None:
    """The seed's text and voice examples conform to their schemas."""
    assert _violations(message, SEED[message]) == []


@pytest.mark.parametrize("message", MESSAGES)
def test_every_asyncapi_example_validates(message: str) -> None:
    """Every example the AsyncAPI document gives, seed's or not, conforms to its schema."""
    found = schemas.examples(PROTOCOL, message)
    assert found
    for payload in found:
        assert _violations(message, payload) == []


@pytest.mark.parametrize(
    ("message", "field"),
    [(message, field) for message, fields in REQUIRED.items() for field in fields],
)
def test_missing_required_field_is_rejected(message: str, field: str) -> None:
    """Dropping any field the seed marks required is reported at the message's root."""
    assert _violations(message, _without(SEED[message], field)) == [
        ("", f"{field!r} is a required property")
    ]


@pytest.mark.parametrize(
    ("message", "field"),
    [(message, field) for message, fields in OPTIONAL.items() for field in fields],
)
def test_optional_field_may_be_absent(message: str, field: str) -> None:
    """Dropping a field the seed marks optional leaves the message valid."""
    assert _violations(message, _without(SEED[message], field)) == []


@pytest.mark.parametrize(
    ("message", "field", "value", "expected"),
    [
        ("chat.text", "chat_type", "voice", "'text' was expected"),
        ("chat.text", "requestType", "audio", "'text' was expected"),
        ("chat.voice", "chat_type", "text", "'voice' was expected"),
        ("chat.voice", "requestType", "text", "'audio' was expected"),
        ("chat.voice", "requestType", "voice", "'audio' was expected"),
    ],
)
def test_wrong_constant_is_rejected(message: str, field: str, value: str, expected: str) -> None:
    """A chat_type or requestType other than the seed's constant is reported at its field."""
    edited = _with(SEED[message], **{field: value})
    assert _violations(message, edited) == [(f"/{field}", expected)]


@pytest.mark.parametrize("message", sorted(SEED))
@pytest.mark.parametrize("value", ["false", 0, None])
def test_is_live_must_be_boolean(message: str, value: Any) -> None:
    """An isLive that is not a boolean is reported at /isLive."""
    [(path, text)] = _violations(message, _with(SEED[message], isLive=value))
    assert path == "/isLive"
    assert "is not of type 'boolean'" in text


@pytest.mark.parametrize("message", sorted(SEED))
def test_is_live_true_is_a_cases_concern(message: str) -> None:
    """isLive true passes the schema: rejecting Live Mode on a Chat Mode socket is a case's job."""
    assert _violations(message, _with(SEED[message], isLive=True)) == []
    assert "case" in schemas.schema(PROTOCOL, message)["properties"]["isLive"]["description"]


@pytest.mark.parametrize(
    ("message", "field", "value"),
    [
        ("chat.text", "request", 42),
        ("chat.text", "avatar_id", None),
        ("chat.voice", "file_base64_data", 7),
        ("chat.voice", "isPushToTalk", "true"),
        ("chat.voice", "session", 1),
    ],
)
def test_wrong_type_is_rejected_at_its_path(message: str, field: str, value: Any) -> None:
    """A field of the wrong JSON type is reported at that field."""
    [(path, _)] = _violations(message, _with(SEED[message], **{field: value}))
    assert path == f"/{field}"


@pytest.mark.parametrize("message", sorted(SEED))
def test_extra_fields_are_allowed(message: str) -> None:
    """A field the seed does not name is accepted: the documents are silent on extra fields."""
    assert _violations(message, _with(SEED[message], client_version="1.2.3")) == []
    assert "extra fields are allowed" in schemas.schema(PROTOCOL, message)["description"]


def test_voice_audio_is_declared_base64() -> None:
    """file_base64_data is annotated as base64, and bytes are presented as a base64 string."""
    audio = schemas.schema(PROTOCOL, "chat.voice")["properties"]["file_base64_data"]
    assert audio["contentEncoding"] == "base64"
    assert _violations("chat.voice", _with(SEED_VOICE, file_base64_data=b"RIFF\x00WAVE")) == []


# -- the HTTP bodies ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"user_id": "u"},
        {"user_id": "A-z_0-9"},
        {"user_id": "x" * 128},
        {"user_id": "user-12345", "project_id": "proj-abc"},
    ],
)
def test_jwt_request_accepts_the_guides_user_ids(body: dict[str, Any]) -> None:
    """user_id of 1-128 [A-Za-z0-9_-], with or without a project_id, is a valid POST /jwt body."""
    assert _violations("jwt.request", body) == []


@pytest.mark.parametrize(
    ("body", "path", "expected"),
    [
        ({}, "", "'user_id' is a required property"),
        ({"user_id": "user 1"}, "/user_id", "does not match"),
        ({"user_id": "user@1"}, "/user_id", "does not match"),
        ({"user_id": "usér"}, "/user_id", "does not match"),
        ({"user_id": "x" * 129}, "/user_id", "is too long"),
        ({"user_id": ""}, "/user_id", "should be non-empty"),
        ({"user_id": 123}, "/user_id", "is not of type 'string'"),
        ({"user_id": "u", "project_id": "proj_abc"}, "/project_id", "does not match"),
        ({"user_id": "u", "project_id": "p" * 65}, "/project_id", "is too long"),
    ],
)
def test_jwt_request_rejects_bad_ids(body: dict[str, Any], path: str, expected: str) -> None:
    """A user_id or project_id outside the guide's constraints is reported at its path."""
    [(found_path, text)] = _violations("jwt.request", body)
    assert found_path == path
    assert expected in text


def test_jwt_response_success_needs_a_token() -> None:
    """A "success" answer must carry a jwt; a "failure" need not; other results are rejected."""
    assert _violations("jwt.response", {"result": "success", "jwt": "eyJ.x.y"}) == []
    assert _violations("jwt.response", {"result": "failure"}) == []
    assert _violations("jwt.response", {"result": "success"}) == [
        ("", "'jwt' is a required property")
    ]
    [(path, _)] = _violations("jwt.response", {"result": "ok", "jwt": "eyJ.x.y"})
    assert path == "/result"


@pytest.mark.parametrize(
    "code",
    ["invalid_user_id", "invalid_project_id", "project_not_found", "token_generation_failed"],
)
def test_jwt_error_accepts_the_guides_codes(code: str) -> None:
    """Each error code of the guide makes a valid error body, and has its status in x-status."""
    assert _violations("jwt.error", {"result": "failure", "error": code}) == []
    assert code in schemas.schema(PROTOCOL, "jwt.error")["x-status"]


def test_jwt_error_shape_is_the_suites_default() -> None:
    """The error body rejects unknown codes and a "success" result, and says it is a [default]."""
    [(path, _)] = _violations("jwt.error", {"result": "failure", "error": "nope"})
    assert path == "/error"
    [(path, _)] = _violations("jwt.error", {"result": "success", "error": "invalid_user_id"})
    assert path == "/result"
    assert "[default]" in schemas.schema(PROTOCOL, "jwt.error")["description"]


@pytest.mark.parametrize(
    ("pointer", "value", "path"),
    [
        (("status",), "200", "/status"),
        (("avatars_info", 0, "hasLiveMode"), "yes", "/avatars_info/0/hasLiveMode"),
        (("languages", 0, "language_code"), None, "/languages/0/language_code"),
    ],
)
def test_connection_response_rejects_wrong_types(
    pointer: tuple[str | int, ...], value: Any, path: str
) -> None:
    """A GET /connection body with a field of the wrong type is reported at that field."""
    [body] = schemas.examples(PROTOCOL, "connection.response")
    node = body
    for step in pointer[:-1]:
        node = node[step]
    node[pointer[-1]] = value
    [(found, _)] = _violations("connection.response", body)
    assert found == path


@pytest.mark.parametrize("field", ["_id", "name", "hasLiveMode", "greetingText"])
def test_connection_response_avatar_fields_are_required(field: str) -> None:
    """Each avatar field the guide's shape names is required."""
    [body] = schemas.examples(PROTOCOL, "connection.response")
    del body["avatars_info"][0][field]
    assert _violations("connection.response", body) == [
        ("/avatars_info/0", f"{field!r} is a required property")
    ]


# -- the server's messages ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [
        {"type": "incoming", "content": "Hi!", "fileUrl": "https://example.com/a.mp4"},
        {"type": "system", "content": "Something went wrong"},
        {"type": "system", "content": "Connection timeout", "timestamp": 1735732800},
        {"type": "event", "content": "", "timestamp": "2025-01-01T12:00:00Z"},
        {"type": "incoming", "content": "Hi!", "timestamp": 1735732800.5, "id": "extra"},
    ],
)
def test_server_message_accepts(payload: dict[str, Any]) -> None:
    """The client's message shape, its optional fields and extra fields conform."""
    assert _violations("server.message", payload) == []


@pytest.mark.parametrize(
    ("payload", "path"),
    [
        ({"content": "Hi!"}, ""),
        ({"type": "incoming"}, ""),
        ({"type": "error", "content": "Hi!"}, "/type"),
        ({"type": "incoming", "content": 5}, "/content"),
        ({"type": "incoming", "content": "Hi!", "fileUrl": 42}, "/fileUrl"),
        ({"type": "incoming", "content": "Hi!", "timestamp": None}, "/timestamp"),
        ({"type": "incoming", "content": "Hi!", "timestamp": True}, "/timestamp"),
        (["incoming", "Hi!"], ""),
    ],
)
def test_server_message_rejects(payload: Any, path: str) -> None:
    """A server message missing a field, or with a wrong type or kind, is reported at its path."""
    [(found, _)] = _violations("server.message", payload)
    assert found == path


def test_invalid_message_default_is_documented() -> None:
    """The [default] answer to an invalid message is stated in the schema and the channel."""
    assert "[default]" in schemas.schema(PROTOCOL, "server.message")["description"]
    channel = schemas.asyncapi(PROTOCOL)["channels"]["chat"]
    assert "[default]" in channel["description"]
    assert "stays open" in channel["description"]


# -- the AsyncAPI document ----------------------------------------------------------------------


def test_asyncapi_server_and_token() -> None:
    """The document is AsyncAPI 3.0.0 with the ws://localhost/ws/chat server and a token query."""
    document = schemas.asyncapi(PROTOCOL)
    assert document["asyncapi"] == "3.0.0"
    [server] = document["servers"].values()
    assert (server["protocol"], server["host"], server["pathname"]) == (
        "ws",
        "localhost",
        "/ws/chat",
    )
    [channel] = document["channels"].values()
    query = channel["bindings"]["ws"]["query"]
    assert query["required"] == ["token"]
    assert query["properties"]["token"]["type"] == "string"


def test_asyncapi_operations() -> None:
    """The client sends the text and voice messages and receives the server's messages."""
    document = schemas.asyncapi(PROTOCOL)
    seen: dict[str, set[str]] = {}
    for operation in document["operations"].values():
        assert operation["channel"] == {"$ref": "#/channels/chat"}
        for message in operation["messages"]:
            name = message["$ref"].removeprefix("#/channels/chat/messages/")
            seen.setdefault(operation["action"], set()).add(name)
    assert seen == {"send": {"chat.text", "chat.voice"}, "receive": {"server.message"}}


def test_asyncapi_payloads_are_the_schema_files() -> None:
    """Every message in components names its schema file as its payload."""
    components = schemas.asyncapi(PROTOCOL)["components"]["messages"]
    assert set(components) == set(MESSAGES)
    for name, message in components.items():
        assert message["name"] == name
        assert message["payload"] == {"$ref": f"./messages/{name}.schema.json"}


def test_asyncapi_describes_the_http_exchanges() -> None:
    """x-http describes POST /jwt and GET /connection with their bodies and statuses."""
    http = schemas.asyncapi(PROTOCOL)["x-http"]
    assert (http["jwt"]["method"], http["jwt"]["path"]) == ("POST", "/jwt")
    assert http["jwt"]["request"]["body"] == {"$ref": "#/components/messages/jwt.request"}
    assert set(http["jwt"]["responses"]) == {"200", "400", "401", "500"}
    assert (http["connection"]["method"], http["connection"]["path"]) == ("GET", "/connection")
    assert http["connection"]["responses"]["200"]["body"] == {
        "$ref": "#/components/messages/connection.response"
    }
    assert "403" in http["connection"]["responses"]
