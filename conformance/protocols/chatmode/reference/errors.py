"""The reference Chat Mode server's error answers.

On the socket, an invalid message is answered with a `system` message whose `content` names the
field ([default]; the reasons are the server's own words); handlers raise `Invalid`, and the
server answers it in one place. Over HTTP, a refusal is `{result: "failure", error: <code>}`
with the publisher's codes; the jwt-error-object variant wraps each code with its text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

__all__ = ["ERROR_TEXT", "INTERNAL_ERROR", "Invalid", "failure", "refusal"]


class Invalid(Exception):
    """A client message the server refuses; the text names the field and becomes `content`."""


# The publisher's error codes of the token flow, and their text (the jwt-error-object variant).
ERROR_TEXT: Final = {
    "invalid_user_id": "user_id must be 1 to 128 letters, digits, hyphens or underscores",
    "invalid_project_id": "project_id must be a string",
    "project_not_found": "no such project",
    "invalid_token": "the token is missing or invalid",
    "token_expired": "the token has expired",
}

# The answer to a message the server failed to answer (a bug of its own, not the client's).
INTERNAL_ERROR: Final[Mapping[str, str]] = {"type": "system", "content": "Something went wrong"}


def failure(error: str, *, as_object: bool = False) -> dict[str, Any]:
    """The body of an HTTP refusal; `as_object`: the code with its text (a variant)."""
    if as_object:
        return {
            "result": "failure",
            "error": {"code": error, "message": ERROR_TEXT.get(error, error)},
        }
    return {"result": "failure", "error": error}


def refusal(reason: str, *, generic: bool = False) -> dict[str, Any]:
    """The system message answering an invalid message; `generic`: one text for every reason
    (the generic-system-errors variant)."""
    if generic:
        return {"type": "system", "content": "Something went wrong", "code": "invalid_message"}
    return {"type": "system", "content": reason}
