"""The snapshots' canonical JSON is the standard library's text, byte for byte, whichever encoder writes it:
a stored snapshot's hash must come out the same when it is encoded again later (verification, recompute)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import math
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.services.snapshot import canonical_bytes, canonical_json, snapshot_hash

REFERENCE = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)


def reference(value) -> str:
    return REFERENCE.encode(value)


finite = st.floats(allow_nan=False, allow_infinity=False)
# every decade a float can have, the ones the two encoders write differently (1e-9 to 1e-4) among them
decades = st.builds(lambda m, e: float(f"{m}e{e}"), st.integers(1, 10**17), st.integers(-330, 290))
scalars = (st.none() | st.booleans() | st.integers(-(2**70), 2**70) | finite | decades
           | st.text(st.characters(exclude_categories=("Cs",)), max_size=12))
trees = st.recursive(scalars, lambda inner: st.lists(inner, max_size=5) | st.dictionaries(
    st.text(st.characters(exclude_categories=("Cs",)), max_size=6), inner, max_size=5), max_leaves=40)


@settings(max_examples=800, deadline=None)
@given(trees)
def test_any_json_value_is_written_as_the_reference_writes_it(value):
    assert canonical_json(value) == reference(value)
    assert canonical_bytes(value) == reference(value).encode("utf-8")


@pytest.mark.parametrize("number", [
    1e-4, 9.999999999999999e-05, 1e-05, -1e-05, 1.5e-07, 1e-09, 9.9e-10, 1e-10, 5e-324, -0.0, 0.0,
    0.1, 1e15, 1e16, 1.2345678901234568e+17, 1e22, 1.7976931348623157e308, 2.0**63, 123456.789,
])
def test_numbers_in_and_around_the_range_written_differently(number):
    for value in (number, [number], {"a": number}, {"a": [1, number]}, {"a": "x", "b": number}):
        assert canonical_json(value) == reference(value)


def test_text_that_only_looks_like_a_small_number_is_written_the_same():
    value = {"explain": "first-time fix 0.00001 → 1e-05", "k": ":0.0000", "l": ["1e-5", ",2e-7"]}
    assert canonical_json(value) == reference(value)


def test_what_only_the_reference_writes_goes_to_it():
    class Text(str):
        pass

    for value in ({"big": 2**64}, {"small": -(2**63) - 1}, {2: "a", 1: "b"}, {"t": Text("x")},
                  {"deep": [[[[[[[[[[1]]]]]]]]]]}):
        assert canonical_json(value) == reference(value)


@pytest.mark.parametrize("value", [
    {"when": dt.date(2024, 1, 1)}, {"at": dt.datetime(2024, 1, 1, 8)}, {"amount": Decimal("1.50")},
    {"keys": {1: "a", "b": 2}},
])
def test_what_the_reference_refuses_is_refused(value):
    with pytest.raises(TypeError):
        reference(value)
    with pytest.raises(TypeError):
        canonical_json(value)


def test_a_dataclass_is_refused_as_the_reference_refuses_it():
    @dataclasses.dataclass
    class Point:
        x: int

    with pytest.raises(TypeError):
        canonical_json({"p": Point(1)})


def test_a_lone_surrogate_is_text_the_hash_cannot_take():
    value = {"name": "\ud800"}
    assert canonical_json(value) == reference(value)
    with pytest.raises(UnicodeEncodeError):
        snapshot_hash(value)


def test_a_non_finite_number_is_written_as_null():
    # The formula engine never gives one and imports refuse them; should one reach a snapshot, it is
    # stored as "no value" rather than failing the whole compute.
    assert canonical_json({"a": math.nan, "b": [math.inf, -math.inf]}) == '{"a":null,"b":[null,null]}'


def test_hash_is_over_the_utf8_text():
    value = {"名称": "站点客户满意度", "score": 86.28, "small": 1e-05}
    assert snapshot_hash(value) == hashlib.sha256(reference(value).encode("utf-8")).hexdigest()
