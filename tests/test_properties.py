"""Property-based tests: random frames in the schema either fit and predict finite
scores of the right length, or raise one of skanime's own errors; the compact
forms a saved model's strings and history take read back exactly."""

import re
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from PIL import Image

from skanime.exceptions import SkanimeError

from .conftest import fast_model

NUMBERS = st.one_of(
    st.none(),
    st.just(np.nan),
    st.integers(-10, 30_000),
    st.floats(allow_nan=True, allow_infinity=True, width=32),
    st.sampled_from(["Unknown", "", "12", "12 eps", " 7 ", "N/A"]),
)
CATEGORIES = st.one_of(
    st.none(),
    st.just(np.nan),
    st.integers(0, 3),
    st.sampled_from(["TV", "Movie", "", "Unknown", "ÖVA", "  tv  "]),
)
LABELS = st.one_of(
    st.none(),
    st.just(np.nan),
    st.tuples(
        st.lists(st.sampled_from(["Action", "Drama", " Sci-Fi ", "", "none found"])),
        st.sampled_from([", ", ";", " | ", "/", ",,"]),
    ).map(lambda parts: parts[1].join(parts[0])),
)
SCORES = st.floats(1, 10)
#: One bad score in a quarter of the frames (NaN or off the 1-10 scale).
BAD_SCORE = st.sampled_from([None] * 9 + [np.nan, 0.0, 11.0])


@pytest.fixture(scope="module")
def poster_kinds(tmp_path_factory):
    folder = tmp_path_factory.mktemp("property_posters")
    good = folder / "good.jpg"
    Image.new("RGB", (20, 30), (200, 40, 90)).save(good)
    text = folder / "text.jpg"
    text.write_text("not an image")
    empty = folder / "empty.jpg"
    empty.write_bytes(b"")
    return [str(good), str(text), str(empty), str(folder / "absent.jpg"), None, ""]


@st.composite
def frames(draw, poster_kinds):
    n = draw(st.integers(1, 12))
    column = lambda cells: draw(st.lists(cells, min_size=n, max_size=n))  # noqa: E731
    frame = pd.DataFrame(
        {
            "Episodes": column(NUMBERS),
            "Type": column(CATEGORIES),
            "Source": column(CATEGORIES),
            "Rating": column(CATEGORIES),
            "Genres": column(LABELS),
            "Themes": column(LABELS),
            "Studios": column(LABELS),
            "poster": column(st.sampled_from(poster_kinds)),
        }
    )
    y = np.asarray(column(SCORES), dtype=float)
    bad = draw(BAD_SCORE)
    if bad is not None:
        y[draw(st.integers(0, n - 1))] = bad
    return frame, y


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_random_frames_fit_and_predict_or_raise_our_own_error(data, poster_kinds):
    frame, y = data.draw(frames(poster_kinds))
    model = fast_model(max_epochs=1, validation_fraction=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # DataWarnings count the fallbacks
        try:
            model.fit(frame, y)
        except SkanimeError:
            return
        predictions = model.predict(frame)
    assert predictions.shape == (len(frame),)
    assert np.isfinite(predictions).all()


STRING_STRUCTURES = st.recursive(
    st.lists(st.text()),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.text(), inner, max_size=3),
        st.dictionaries(st.text(), st.text(), max_size=3),
        st.dictionaries(st.text(), st.floats(allow_nan=False), max_size=3),
        st.dictionaries(
            st.text(), st.floats(allow_nan=False).map(np.float64), max_size=3
        ),
        st.dictionaries(st.text(), st.integers(), max_size=3),
    ),
    max_leaves=8,
)


@given(STRING_STRUCTURES)
@settings(max_examples=200, deadline=None)
def test_saved_strings_read_back_exactly_or_stay_as_they_are(value):
    """What ``CompactDictsMixin`` saves as one string (and numbers as one
    array) reads back equal, item for item, with the same types (any text,
    NULs inside it included); only text whose join would end with a NUL,
    which a string array drops, and ints beyond 64 bits are refused (saved as
    they are)."""
    from skanime._compact_state import pack_strings, unpack_strings

    packed = pack_strings(value)
    if packed is None:  # a NUL in some text, or an int beyond 64 bits
        assert "\\x00" in repr(value) or any(
            len(word) > 18 for word in re.findall(r"-?\d+", repr(value))
        )
        return
    read = unpack_strings(packed)
    assert read == value
    assert repr(read) == repr(value)  # the same types, down to the numbers
    as_array = np.array(value if type(value) is list else [], dtype=object)
    if as_array.ndim == 1 and all(type(v) is str for v in as_array.tolist()):
        read = unpack_strings(pack_strings(as_array))
        assert read.dtype == object and read.tolist() == as_array.tolist()


JSON_LIKE = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(),
        st.floats().map(np.float64),
        st.text(),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(), inner, max_size=3)
    ),
    max_leaves=10,
)


@given(JSON_LIKE)
@example({"__skanime_float64__": None})  # the tag as a key (found by Hypothesis)
@settings(max_examples=200, deadline=None)
def test_a_saved_history_reads_back_with_its_values_and_types(value):
    """``pack_json`` (a network's training history) reads back as it was:
    the same values, NaN and infinities included, and the same types, NumPy
    float64 scalars included. A dict keyed by its own float64 tag cannot be
    told from a tagged number, so such a value is not packed (None: saved as
    it is); the test once fed that None to ``unpack_json``."""
    from skanime._compact_state import _FLOAT64, pack_json, unpack_json

    def keys(item):  # every key of every dict in item
        if type(item) is dict:
            yield from item
            for inner in item.values():
                yield from keys(inner)
        elif type(item) is list:
            for inner in item:
                yield from keys(inner)

    text = pack_json(value)
    if _FLOAT64 in set(keys(value)):  # the tag itself as a key: saved as it is
        assert text is None
        return
    assert repr(unpack_json(text)) == repr(value)
