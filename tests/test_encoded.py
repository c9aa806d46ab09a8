"""Root fields answered already encoded (app/graphql/compiled/encoded.py): whatever parts a root
is encoded in, the response is byte for byte the one encoding it whole would give."""

from typing import Any

import orjson
from hypothesis import given
from hypothesis import strategies as st

from app.graphql.compiled.encoded import EncodedJSON, chunks, dumps, encoded_parts

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=20,
)
names = st.from_regex(r"[_A-Za-z][_0-9A-Za-z]{0,8}", fullmatch=True)


def split(encoded: bytes, cuts: list[int]) -> EncodedJSON:
    """The bytes cut into parts at these places."""
    places = sorted({c % (len(encoded) + 1) for c in cuts})
    return EncodedJSON([encoded[a:b] for a, b in zip([0, *places], [*places, len(encoded)], strict=True)])


@given(
    data=st.dictionaries(names, json_values, min_size=1, max_size=4),
    encoded_roots=st.sets(st.integers(0, 3)),
    cuts=st.lists(st.integers(0, 10_000), max_size=6),
    errors=st.none() | st.lists(st.dictionaries(st.text(max_size=5), json_values, max_size=3), min_size=1),
)
def test_a_response_with_encoded_roots_is_the_whole_encoding(data, encoded_roots, cuts, errors):
    response: dict[str, Any] = {"data": data} if errors is None else {"data": data, "errors": errors}
    partly = {
        key: split(orjson.dumps(value), cuts) if n in encoded_roots else value
        for n, (key, value) in enumerate(data.items())
    }
    answer = {**response, "data": partly}
    parts = encoded_parts(answer)
    if not any(isinstance(v, EncodedJSON) for v in partly.values()):
        assert parts is None
        return
    assert parts is not None
    assert b"".join(parts) == orjson.dumps(response)
    assert dumps(answer) == orjson.dumps(response)


@given(parts=st.lists(st.binary(max_size=50), max_size=30), size=st.integers(1, 120))
def test_chunks_hold_every_part_in_order_each_as_large_as_asked(parts, size):
    sent = list(chunks(parts, size))
    assert b"".join(sent) == b"".join(parts)
    assert all(len(chunk) >= size for chunk in sent[:-1])
    assert all(sent), "an empty chunk"


def test_a_response_without_encoded_roots_is_left_alone():
    assert encoded_parts({"data": {"instance": {"id": "1"}}}) is None
    assert encoded_parts({"data": None, "errors": [{"message": "no"}]}) is None
