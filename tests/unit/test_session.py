"""The input buffer and chunk decoding of the reference server."""

from __future__ import annotations

import base64

import pytest

from conformance.protocols.metahuman.reference import errors
from conformance.protocols.metahuman.reference.errors import CustomError
from conformance.protocols.metahuman.reference.session import InputBuffer, Limits, decode_chunk


def test_first_chunk_is_flagged_once_per_buffer() -> None:
    """Only the first chunk of a buffer reports itself first, again after a commit."""
    buffer = InputBuffer()
    assert buffer.append(b"ab") is True
    assert buffer.append(b"cd") is False
    assert buffer.take() == b"abcd"
    assert len(buffer) == 0
    assert buffer.append(b"ef") is True


def test_commit_of_empty_buffer_is_an_error() -> None:
    """Taking an empty buffer raises EMPTY_BUFFER."""
    with pytest.raises(CustomError) as caught:
        InputBuffer().take()
    assert caught.value.kind is errors.EMPTY_BUFFER


def test_limits() -> None:
    """A chunk or a buffer over its limit raises PAYLOAD_TOO_LARGE and leaves the buffer."""
    buffer = InputBuffer(limits=Limits(max_chunk_bytes=4, max_buffer_bytes=6))
    with pytest.raises(CustomError) as chunk_error:
        buffer.append(b"12345")
    assert chunk_error.value.kind is errors.PAYLOAD_TOO_LARGE
    buffer.append(b"1234")
    with pytest.raises(CustomError) as buffer_error:
        buffer.append(b"567")
    assert buffer_error.value.kind is errors.PAYLOAD_TOO_LARGE
    assert buffer.take() == b"1234"


@pytest.mark.parametrize("chunk", ["not base64!", "", "QUJ", "QU=D", 42, None, {"audio": "QUJD"}])
def test_invalid_chunks(chunk: object) -> None:
    """Anything but non-empty base64 (or bytes) is INVALID_CHUNK."""
    with pytest.raises(CustomError) as caught:
        decode_chunk(chunk)
    assert caught.value.kind is errors.INVALID_CHUNK


def test_valid_chunks() -> None:
    """A base64 string decodes; a binary attachment passes as is."""
    assert decode_chunk(base64.b64encode(b"\x00\x01").decode()) == b"\x00\x01"
    assert decode_chunk(b"\x02") == b"\x02"


def test_error_payload_has_the_seed_shape() -> None:
    """A custom.error payload is `{message, errorId}` with the catalogue's id."""
    payload = CustomError(errors.EMPTY_BUFFER, "nothing").payload()
    assert payload == {"message": "input buffer is empty: nothing", "errorId": 1005}


def test_catalogue_ids_are_unique() -> None:
    """No two errors of the catalogue share an id or a name."""
    assert len({e.error_id for e in errors.CATALOGUE}) == len(errors.CATALOGUE)
    assert len({e.name for e in errors.CATALOGUE}) == len(errors.CATALOGUE)
