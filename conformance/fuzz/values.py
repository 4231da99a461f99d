"""Values the mutations of every protocol draw from: any JSON, JSON that is not an object, and
the test for base64 text (what a chunk or an audio field must be)."""

from __future__ import annotations

import base64
from typing import Any

from hypothesis import strategies as st

__all__ = ["JSON", "NOT_OBJECTS", "is_base64"]

# Small, nested a few levels: a wrong type at any field.
JSON: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
# A whole message that is JSON but not an object.
NOT_OBJECTS: st.SearchStrategy[Any] = st.one_of(
    st.lists(JSON, max_size=4),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
    st.booleans(),
    st.none(),
)


def is_base64(text: str) -> bool:
    """Whether `text` is strict base64 (non-ASCII text is not)."""
    try:
        base64.b64decode(text, validate=True)
    except ValueError:
        return False
    return True
