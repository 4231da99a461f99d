"""Legitimate variants of the reference server (`conformance serve --variant NAME`).

Each reads an [open] point of PROTOCOLS.md another way than the reference's [default]; every
case must pass against it with the variant's profile (tests/selftest/test_variant_matrix.py).
The server reads `variants.active(VARIANT)` at the one place each acts.
"""

from __future__ import annotations

from conformance.protocols.variants import ActiveVariants, ServerVariant, VariantRegistry

__all__ = ["VARIANTS", "ActiveVariants", "ServerVariant"]

VARIANTS = VariantRegistry()

_INVALID = "PROTOCOLS.md §2 [open] how an invalid message is answered"
_SERVER = "PROTOCOLS.md §2 [doc, publisher's client] server messages"

# --- messages out --------------------------------------------------------------------------
NO_PROCESSING_EVENT = VARIANTS.add(
    "no-processing-event",
    'no `{type: "event", content: "processing"}` before the answer: the `incoming` answer is '
    "the only message of a turn",
    open_point=f"{_SERVER}: `event` carries other notifications; none is required before an answer",
)
TYPING_EVENTS = VARIANTS.add(
    "typing-events",
    'more `event` notifications around the answer: `{type: "event", content: "typing"}` before '
    'it and `{type: "event", content: "idle"}` after it',
    open_point=f"{_SERVER}: which `event` notifications a server sends, and when, is open",
)
EPOCH_MS_TIMESTAMP = VARIANTS.add(
    "epoch-ms-timestamp",
    "the answer's `timestamp` is a number, milliseconds since the epoch, not an ISO 8601 string",
    open_point=f"{_SERVER}: `timestamp?` has no documented format (PROTOCOLS.md: timestamps' "
    "format is checked for shape only)",
)
RELATIVE_FILE_URL = VARIANTS.add(
    "relative-file-url",
    "the answer's `fileUrl` is a path on the server (`/files/<id>.mp3`), not an absolute URL",
    open_point=f"{_SERVER}: `fileUrl` points to the answer's audio; whether it is absolute is "
    "not said",
)
WAV_ANSWER_AUDIO = VARIANTS.add(
    "wav-answer-audio",
    "the answer's audio is 16 kHz mono WAV, served as `audio/wav` at `/files/<id>.wav`, "
    "instead of MP3",
    open_point=f"{_SERVER}: `fileUrl` points to the answer's audio or video; its format is not "
    "said",
)
TEXT_ONLY_ANSWERS = VARIANTS.add(
    "text-only-answers",
    "answers carry no `fileUrl`: text only, no audio",
    open_point="seed 002 workflow step 3: a text response with an optional fileUrl",
)

# --- invalid messages ----------------------------------------------------------------------
GENERIC_SYSTEM_ERRORS = VARIANTS.add(
    "generic-system-errors",
    'an invalid message is answered `{type: "system", content: "Something went wrong", code: '
    '"invalid_message"}`: the publisher client\'s wording, naming no field, and an extra field',
    open_point=f"{_INVALID} (the [default] names the bad field); message wording is checked "
    "for shape only",
)

# --- the token flow ------------------------------------------------------------------------
JWT_ERROR_OBJECT = VARIANTS.add(
    "jwt-error-object",
    'refusals of `/jwt`, `/connection` and `/ws/chat` carry `{result: "failure", error: {code, '
    "message}}` instead of `error: <code>`",
    open_point="PROTOCOLS.md §2 [doc, publisher's guide] authentication: the guide names each "
    'error code but shows no error body ([default] `{result: "failure", error: <code>}`)',
)

# --- the deployment ------------------------------------------------------------------------
OWN_AVATARS = VARIANTS.add(
    "own-avatars",
    "the server's avatars have ids of its own (`6650f1c2a9e4`, `6650f1c2a9e5`): the seed's "
    "example id `avatar-id-123` is unknown to it",
    open_point="seed 002: `avatar-id-123` is an example of an avatar identifier; a deployment "
    "lists its own in `/connection`'s avatars_info",
    profile={"message": {"avatar_id": "6650f1c2a9e4"}},
)
