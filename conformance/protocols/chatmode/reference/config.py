"""What the reference Chat Mode server offers (its avatars and languages), and a client message
read against it: validated field by field (seed 002's tables) into a typed `Message`, or
`Invalid` naming the first bad field.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from conformance.protocols.chatmode.reference.errors import Invalid

__all__ = ["AVATARS", "LANGUAGES", "OWN_AVATARS", "Avatar", "Message", "parse_message"]

_REQUEST_TYPE: Final = {"text": "text", "voice": "audio"}  # chat_type -> its requestType
_COMMON_STRINGS: Final = ("avatar_id", "user_id", "chat_type", "language", "requestType", "source")


@dataclass(frozen=True, slots=True, kw_only=True)
class Avatar:
    id: str
    name: str
    greeting: str

    def info(self) -> dict[str, Any]:
        # Live Mode is out of scope (PROTOCOLS.md §2), so no avatar offers it.
        return {
            "_id": self.id,
            "name": self.name,
            "hasLiveMode": False,
            "greetingText": self.greeting,
        }


# The seed's example avatar id is one of them, so the seed's messages work as written.
AVATARS: Final = (
    Avatar(id="avatar-id-123", name="Ava", greeting="Hello, I am Ava. How can I help you today?"),
    Avatar(id="avatar-id-456", name="Max", greeting="Hi, I am Max. Ask me anything."),
)
# The avatars of the own-avatars variant: a deployment's ids, not the seed's example.
OWN_AVATARS: Final = (
    Avatar(id="6650f1c2a9e4", name="Ava", greeting="Hello, I am Ava. How can I help you today?"),
    Avatar(id="6650f1c2a9e5", name="Max", greeting="Hi, I am Max. Ask me anything."),
)
LANGUAGES: Final = (
    {"name": "English", "language_code": "en"},
    {"name": "Spanish", "language_code": "es"},
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Message:
    avatar: Avatar
    request: str | None  # the text of a text message
    audio: bytes | None  # the decoded file_base64_data of a voice message


def parse_message(raw: str, *, allow_live: bool, avatars: Sequence[Avatar] = AVATARS) -> Message:
    """A valid Chat Mode message (seed 002's tables), or Invalid naming the first bad field."""
    try:
        message = json.loads(raw)
    except ValueError as exc:
        raise Invalid(f"the message is not JSON: {exc}") from None
    if not isinstance(message, dict):
        raise Invalid("the message is not a JSON object")
    for name in (*_COMMON_STRINGS, "isLive"):
        if name not in message:
            raise Invalid(f"`{name}` is required")
    for name in _COMMON_STRINGS:
        if not isinstance(message[name], str):
            raise Invalid(f"`{name}` must be a string")
    for name, kind, label in (
        ("isLive", bool, "a boolean"),
        ("isPushToTalk", bool, "a boolean"),
        ("session", str, "a string"),
    ):
        if name in message and not isinstance(message[name], kind):
            raise Invalid(f"`{name}` must be {label}")
    chat_type = message["chat_type"]
    if chat_type not in _REQUEST_TYPE:
        raise Invalid('`chat_type` must be "text" or "voice"')
    if message["requestType"] != _REQUEST_TYPE[chat_type]:
        raise Invalid(
            f'`requestType` must be "{_REQUEST_TYPE[chat_type]}" when `chat_type` is "{chat_type}"'
        )
    if message["isLive"] and not allow_live:
        raise Invalid("`isLive` must be false: this server offers Chat Mode only, not Live Mode")
    avatar = next((a for a in avatars if a.id == message["avatar_id"]), None)
    if avatar is None:
        raise Invalid(f"`avatar_id` {message['avatar_id']!r} is not a known avatar")
    field = "request" if chat_type == "text" else "file_base64_data"
    value = message.get(field)
    if field not in message:
        raise Invalid(f"`{field}` is required when `chat_type` is {chat_type!r}")
    if not isinstance(value, str):
        raise Invalid(f"`{field}` must be a string")
    if chat_type == "text":
        if not value.strip():
            raise Invalid("`request` is empty")
        return Message(avatar=avatar, request=value.strip(), audio=None)
    try:
        data = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:  # non-ASCII text raises ValueError
        raise Invalid(f"`file_base64_data` is not base64: {exc}") from None
    if not data:
        raise Invalid("`file_base64_data` is empty")
    return Message(avatar=avatar, request=None, audio=data)
