"""The filter language: parsed by hand, evaluated to a mask, errors that say where."""

from __future__ import annotations

import numpy as np
import pytest

from mmviewer.core.items.expr import FilterError, evaluate, parse

LABEL = np.array(["3", "7", "3", "", "12"], dtype=object)
RANK = np.array([1.0, 14.0, np.nan, 3.0, 40.0], np.float32)
NAME = np.array(["cat_01", "dog", "Cat 2", "bird", "catfish"], dtype=object)
AUDIO = np.array([True, False, True, True, False])
TAGS = {"good": np.array([0, 4])}


def resolve(kind, name, position=None):
    if kind == "has":
        if name != "audio":
            raise FilterError(f"no modality {name!r}", position)
        return AUDIO
    if kind == "tagged":
        out = np.zeros(5, bool)
        for tag, rows in TAGS.items():
            if name in (None, tag):
                out[rows] = True
        return out
    if kind == "selected":
        return np.array([False, True, False, False, False])
    columns = {"label": LABEL, "partner_rank": RANK, "id": NAME, "score": np.linspace(0, 1, 5)}
    if name not in columns:
        raise FilterError(f"no column {name!r}", position)
    return columns[name]


def rows(text):
    return np.flatnonzero(evaluate(parse(text), 5, resolve)).tolist()


@pytest.mark.parametrize("text, expected", [
    ("partner_rank > 10", [1, 4]),
    ("partner_rank >= 3 and partner_rank <= 14", [1, 3]),
    ('label == "3"', [0, 2]),
    ("label == 3", [0, 2]),  # text that reads as numbers compares as numbers
    ("label = '12'", [4]),
    ('label != "3"', [1, 3, 4]),
    ("missing audio", [1, 4]),
    ("has audio and not partner_rank < 2", [2, 3]),  # NaN passes no comparison; not flips it
    ('id contains "cat"', [0, 2, 4]),  # case-insensitive
    ('label in ("7", "12")', [1, 4]),
    ('label not in ("7", "12")', [0, 2, 3]),
    ('tagged "good" or selected', [0, 1, 4]),
    ("tagged", [0, 4]),
    ("(missing audio || partner_rank == 1) && !tagged", [1]),
    ("score > 0.5", [3, 4]),
    ("", [0, 1, 2, 3, 4]),
    ("NOT missing AUDIO", [0, 2, 3]),  # keywords ignore case
    ("partner_rank", [0, 1, 3, 4]),  # a bare numeric column: non-zero and known
])
def test_expressions_select_the_expected_rows(text, expected):
    assert rows(text) == expected


@pytest.mark.parametrize("text, message, column", [
    ("partner_rank >", "expected a value", 15),
    ("label == 3 label == 4", "join conditions with 'and'", 12),
    ("missing smell", "no modality 'smell'", 9),
    ("colour == 'red'", "no column 'colour'", 1),
    ("(label == 3", "expected ')'", 12),
    ("label == 3 $", "unexpected '$'", 12),
    ("__import__('os')", "unexpected '('", 11),
    ("3", "a value alone is not a condition", 2),
])
def test_bad_filters_say_what_and_where(text, message, column):
    with pytest.raises(FilterError) as err:
        evaluate(parse(text), 5, resolve)
    assert message in str(err.value)
    assert f"column {column})" in str(err.value)


def test_nothing_is_ever_evaluated_as_python():
    for text in ("__import__('os').system('true')", "label.__class__", "exec('1')"):
        with pytest.raises(FilterError):
            evaluate(parse(text), 5, resolve)
