"""Delta planning of the reference server (PROTOCOLS.md §1 [default] audio-delta semantics)."""

from __future__ import annotations

import pytest

from conformance.protocols.metahuman.events import ResponseType
from conformance.protocols.metahuman.reference.deltas import STREAM_CHUNK_WORDS, plan, send_order

TEXT = "You said hello. That is a good question from you today. I hope this helps."


@pytest.mark.parametrize("response_type", list(ResponseType))
def test_ids_done_and_join(response_type: ResponseType) -> None:
    """Ids run 0..n-1, done is on the last only, and the texts join to the response text."""
    deltas = plan(TEXT, response_type)
    assert [d.id for d in deltas] == list(range(len(deltas)))
    assert [d.done for d in deltas] == [False] * (len(deltas) - 1) + [True]
    assert " ".join(d.text for d in deltas) == TEXT
    assert deltas[-1].total_number == len(deltas)


def test_single_is_one_delta() -> None:
    """`single` gives one delta holding the whole text, its part done."""
    (delta,) = plan(TEXT, ResponseType.SINGLE)
    assert delta.text == TEXT
    assert delta.stream_part_done


def test_chain_is_one_delta_per_sentence() -> None:
    """`chain` gives one delta per sentence, each closing its part, totalNumber on all."""
    deltas = plan(TEXT, ResponseType.CHAIN)
    assert [d.text for d in deltas] == [
        "You said hello.",
        "That is a good question from you today.",
        "I hope this helps.",
    ]
    assert all(d.stream_part_done for d in deltas)
    assert {d.total_number for d in deltas} == {3}


def test_stream_chunks_sentences_and_counts_at_the_end() -> None:
    """`stream` splits sentences into word chunks; totalNumber is 0 until the final delta."""
    deltas = plan(TEXT, ResponseType.STREAM)
    assert len(deltas) > 3
    assert all(len(d.text.split()) <= STREAM_CHUNK_WORDS for d in deltas)
    assert [d.total_number for d in deltas[:-1]] == [0] * (len(deltas) - 1)
    ends = [d.text for d in deltas if d.stream_part_done]
    assert ends == ["You said hello.", "question from you today.", "I hope this helps."]


def test_empty_text_still_gives_one_final_delta() -> None:
    """A response with no text still ends with one `done` delta."""
    for response_type in ResponseType:
        (delta,) = plan("", response_type)
        assert delta.done
        assert delta.text == ""


def test_unordered_send_order_permutes_but_keeps_done_last() -> None:
    """With isOrdered false the order changes, every delta is sent once, `done` last."""
    deltas = plan(TEXT, ResponseType.STREAM)
    sent = send_order(deltas, is_ordered=False)
    assert sent != deltas
    assert sorted(d.id for d in sent) == [d.id for d in deltas]
    assert sent[-1].done


def test_ordered_send_order_is_id_order() -> None:
    """With isOrdered true deltas go out in id order."""
    deltas = plan(TEXT, ResponseType.STREAM)
    assert send_order(deltas, is_ordered=True) == deltas
