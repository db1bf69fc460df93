"""Bad input, case by case: each gets a clear error or a documented, counted fallback.

The table of cases and what each gets is in docs/bad_input.md.
"""

import shutil
import struct
import subprocess
import sys
import warnings
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from skanime import HybridAnimeRegressor, PosterLoader, TableCleaner
from skanime.backbones import pretrained_available
from skanime.exceptions import (
    ColumnError,
    DataError,
    DataWarning,
    PosterError,
    TargetError,
)
from skanime.inspection import column_importance, poster_effect

from .conftest import fast_model

# -- posters ----------------------------------------------------------------------


def _png_header_only(path, width, height):
    """A PNG whose header claims ``width x height`` pixels, with no pixel data."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + header
    ihdr = struct.pack(">I", len(header)) + chunk
    ihdr += struct.pack(">I", zlib.crc32(chunk) & 0xFFFFFFFF)
    end = struct.pack(">I", 0) + b"IEND" + struct.pack(">I", zlib.crc32(b"IEND"))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + ihdr + end)


def _gradient(size=(40, 60)):
    x = np.linspace(0, 255, size[0] * size[1] * 3).reshape(size[1], size[0], 3)
    return Image.fromarray(x.astype(np.uint8))


def _make(kind: str, folder) -> str:
    """Write a poster of the given kind in ``folder`` and return its path."""
    path = folder / f"{kind}.jpg"
    if kind == "missing_file":
        return str(folder / "not_there.jpg")
    if kind == "url":  # a column of links (Kaggle's image_url), not of files
        return "https://cdn.myanimelist.net/images/anime/1223/96541.jpg"
    if kind == "zero_bytes":
        path.write_bytes(b"")
    elif kind == "truncated_jpeg":
        _gradient((200, 300)).save(path, quality=95)
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif kind == "text_named_jpg":
        path.write_text("<html>404 Not Found</html>")
    elif kind == "png_with_alpha":
        path = folder / "alpha.png"
        image = _gradient().convert("RGBA")
        image.putalpha(Image.new("L", image.size, 0))  # fully transparent
        image.save(path)
    elif kind == "grayscale":
        _gradient().convert("L").save(path)
    elif kind == "cmyk_jpeg":
        _gradient().convert("CMYK").save(path)
    elif kind == "png_16_bit":
        path = folder / "deep.png"
        pixels = (np.arange(40 * 60).reshape(60, 40) * 27).astype(np.uint16)
        Image.fromarray(pixels).save(path)
    elif kind == "animated_gif":
        path = folder / "anim.gif"
        frames = [Image.new("RGB", (30, 40), c) for c in ("red", "blue")]
        frames[0].save(path, save_all=True, append_images=frames[1:], duration=50)
    elif kind == "webp":
        path = folder / "poster.webp"
        _gradient().save(path)
    elif kind == "one_pixel":
        Image.new("RGB", (1, 1), "green").save(path)
    elif kind == "bomb_20000":
        path = folder / "bomb.png"
        _png_header_only(path, 20_000, 20_000)
    elif kind == "too_many_pixels":
        path = folder / "huge.png"
        _png_header_only(path, 8_000, 6_000)  # 48 Mpx: PIL would decode it
    elif kind == "directory":
        path = folder / "a_folder.jpg"
        path.mkdir()
    elif kind == "unicode_path":
        path = folder / "ポスター_é.jpg"
        _gradient().save(path)
    else:  # pragma: no cover - a typo in the table
        raise ValueError(kind)
    return str(path)


#: kind -> None (decoded) or a fragment of the reason it is refused
POSTER_CASES = {
    "missing_file": "no such file",
    "zero_bytes": "the file is empty",
    "truncated_jpeg": "not a readable image",
    "text_named_jpg": "not a readable image",
    "png_with_alpha": None,
    "grayscale": None,
    "cmyk_jpeg": None,
    "png_16_bit": None,
    "animated_gif": None,
    "webp": None,
    "one_pixel": None,
    "bomb_20000": "decompression bomb",
    "too_many_pixels": "decompression bomb",
    "directory": "it is a directory",
    "unicode_path": None,
    "url": "a URL, not a file.*download_posters",
}


@pytest.mark.parametrize("kind", sorted(POSTER_CASES))
def test_poster_case(kind, tmp_path):
    path = _make(kind, tmp_path)
    column = pd.DataFrame({"poster": [path]})
    problem = POSTER_CASES[kind]
    lenient = PosterLoader(image_size=16).fit(column)
    strict = PosterLoader(image_size=16, poster_errors="raise").fit(column)
    if problem is None:
        (resolved,) = lenient.transform(column)[:, 0]
        pixels = lenient.decode(resolved)
        assert pixels.shape == (16, 16, 3) and pixels.dtype == np.uint8
        strict.transform(column)  # no error
    else:
        with pytest.warns(DataWarning, match=f"1 poster.*{problem}"):
            assert lenient.transform(column)[0, 0] is None
        with pytest.raises(PosterError, match=f"Row 0.*{problem}"):
            strict.transform(column)
        assert lenient.decode(path) is None  # decoding directly never crashes


def _held_images(path) -> dict:
    """The poster at ``path`` held in a cell, in each way a frame can hold one."""
    data = path.read_bytes()
    pixels = Image.open(path)
    return {
        "bytes": data,
        "dict": {"bytes": data, "path": None},  # a Hugging Face image column
        "dict of a file": {"bytes": None, "path": str(path)},
        "PngImageFile": pixels,
        "ndarray": np.asarray(pixels.convert("RGB")),
    }


def test_posters_held_in_the_cells_are_read(tmp_path, anime):
    """Such cells used to be read as their repr, a path ("no such file", with a
    screenful of escaped bytes); they are written once to a file of the
    process, so everything that reads posters reads them."""
    path = tmp_path / "p.png"
    Image.new("RGB", (8, 8), "red").save(path)
    column = pd.DataFrame({"poster": [str(path)]})
    loader = PosterLoader(image_size=16).fit(column)
    expected = loader.load(loader.transform(column)[0, 0])
    for kind, image in _held_images(path).items():
        held = pd.DataFrame({"poster": pd.Series([image, None], dtype=object)})
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # read, so no warning
            paths = loader.transform(held)[:, 0]
        assert paths[1] is None, kind
        np.testing.assert_array_equal(loader.load(paths[0]), expected, err_msg=kind)
    # the estimator predicts from image bytes as from their files, and finds a
    # column of them by itself
    frame = anime.head(16)
    held = frame.assign(
        poster=frame["poster"].map(lambda p: Path(p).read_bytes(), na_action="ignore")
    )
    model = fast_model().fit(frame, anime["Score"].head(16))
    from_bytes = fast_model().fit(held, anime["Score"].head(16))
    np.testing.assert_array_equal(from_bytes.predict(held), model.predict(frame))
    cover = held.rename(columns={"poster": "cover"})
    roles = TableCleaner().fit(cover).column_roles_
    assert roles.role_of("cover") == "poster"
    assert roles.reasons["cover"].startswith("images held in the cells")


@pytest.mark.parametrize(
    ("image", "problem"),
    [
        (b"not an image", "'<bytes>': not a readable image"),
        (np.zeros((4, 4), dtype=np.float64), "'<ndarray>': image data that cannot"),
        (np.zeros((2, 2, 2, 2), dtype=np.uint8), "'<ndarray>': image data that cannot"),
        ({"bytes": None, "path": "/no/x.jpg"}, "'/no/x.jpg': no such file"),
        ({"bytes": None, "path": 3}, "'<int>': not a path but a value of type int"),
    ],
    ids=["garbage", "float-array", "four-dimensions", "dict-path", "dict-neither"],
)
def test_a_held_image_that_cannot_be_read_is_named_by_its_type(image, problem):
    column = pd.DataFrame({"poster": pd.Series([image], dtype=object)})
    with pytest.warns(DataWarning, match=f"1 poster.*{problem}"):
        assert PosterLoader(image_size=16).fit(column).transform(column)[0, 0] is None
    strict = PosterLoader(image_size=16, poster_errors="raise").fit(column)
    with pytest.raises(PosterError, match=f"Row 0: poster {problem}"):
        strict.transform(column)


def test_the_files_of_held_images_are_removed_when_the_process_exits(tmp_path):
    script = (
        "from skanime._held_images import held_image_file\n"
        "print(held_image_file(b'x'))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    written = Path(out.stdout.strip())
    assert written.name.endswith(".img") and not written.exists()
    assert not written.parent.exists()


def test_transparent_png_is_laid_on_white(tmp_path):
    loader = PosterLoader(image_size=8)
    pixels = loader.decode(_make("png_with_alpha", tmp_path))
    assert (pixels == 255).all()


def test_a_file_broken_after_the_check_is_a_missing_poster_or_an_error(tmp_path):
    path = _make("grayscale", tmp_path)
    column = pd.DataFrame({"poster": [path]})
    (resolved,) = PosterLoader(image_size=8).fit_transform(column)[:, 0]
    Image.new("RGB", (1, 1)).save(tmp_path / "x.png")
    shutil.copy(tmp_path / "x.png", path + ".tmp")
    open(path, "wb").close()  # emptied between the check and the batch
    assert PosterLoader(image_size=8).decode(resolved) is None
    with pytest.raises(PosterError, match="cannot be decoded"):
        PosterLoader(image_size=8, poster_errors="raise").decode(resolved)


def test_every_poster_case_in_one_fit(tmp_path, anime):
    """A frame holding every kind of poster fits, warns once with the count of
    unreadable posters, and predicts finite scores; strict mode names a row."""
    kinds = sorted(POSTER_CASES)
    frame = anime.head(len(kinds)).copy()
    frame["poster"] = [_make(kind, tmp_path) for kind in kinds]
    n_bad = sum(problem is not None for problem in POSTER_CASES.values())
    with pytest.warns(DataWarning, match=f"{n_bad} poster\\(s\\) could not be read"):
        model = fast_model(validation_fraction=0).fit(frame, frame["Score"])
    with pytest.warns(DataWarning):
        assert np.isfinite(model.predict(frame)).all()
    with pytest.raises(PosterError, match="Row"):
        fast_model(poster_errors="raise").fit(frame, frame["Score"])


@pytest.mark.parametrize(
    "params",
    [
        {},
        pytest.param(
            {"backbone": "efficientnet_lite0", "freeze_backbone": True},
            marks=pytest.mark.skipif(
                not pretrained_available(), reason="needs skanime[pretrained]"
            ),
            id="frozen-pretrained",
        ),
    ],
)
def test_each_warning_is_given_once_a_call(anime, params):
    """An unreadable poster is one warning a fit, a predict, a column_importance
    (which predicts dozens of times) and a poster_effect: the frozen backbone's
    poster network and poster prior both read the posters, and each warned."""
    frame = anime.head(40).copy()
    frame.loc[frame.index[:3], "poster"] = "/nonexistent/poster.jpg"
    counts = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = fast_model(**params).fit(frame, frame["Score"])
        calls = [
            lambda: model.predict(frame),
            lambda: column_importance(model, frame, frame["Score"], n_repeats=2),
            lambda: poster_effect(model, frame),
        ]
        counts.append(len(caught))
        for call in calls:
            before = len(caught)
            call()
            counts.append(len(caught) - before)
    assert counts == [1, 1, 1, 1]
    assert all("3 poster(s) could not be read" in str(w.message) for w in caught)


# -- the table ----------------------------------------------------------------------


def test_missing_required_columns_are_named(anime):
    with pytest.raises(ColumnError, match=r"'Genres'.*'Studios'") as error:
        fast_model(list_columns=["Genres", "Themes", "Studios"]).fit(
            anime.drop(columns=["Genres", "Studios"]), anime["Score"]
        )
    assert "list_columns" in str(error.value)


def test_columns_that_held_nothing_in_fit_may_be_absent_in_predict(anime):
    """A used column whose every training cell was empty or a placeholder (and
    the poster column, where no row had one) taught the model nothing: predict
    reads it as empty where X lacks it. A column that held values is still
    needed."""
    frame = anime.assign(Themes="Unknown", poster=None)
    frame.loc[frame.index[0], "Themes"] = None
    model = fast_model(list_columns=["Genres", "Themes", "Studios"])
    model.fit(frame, frame["Score"])
    assert model.empty_columns_ == ["Themes", "poster"]
    np.testing.assert_array_equal(
        model.predict(frame.drop(columns=["Themes", "poster"])), model.predict(frame)
    )
    with pytest.raises(ColumnError, match="'Studios'"):
        model.predict(frame.drop(columns=["Themes", "Studios"]))
    # values in them (posters where no training row had one) are read as empty
    with pytest.warns(DataWarning, match=r"\['Themes', 'poster'\] held no value"):
        given = model.predict(anime)
    np.testing.assert_array_equal(given, model.predict(frame))
    lacking = frame.drop(columns=["Themes", "poster"])
    table = column_importance(model, lacking, frame["Score"], n_repeats=1)
    assert "Themes" not in table.index and "Studios" in table.index
    # a model saved before empty_columns_ needs every column, as it did
    state = model.__getstate__()
    del state["empty_columns_"]
    old = HybridAnimeRegressor.__new__(HybridAnimeRegressor)
    old.__setstate__(state)
    with pytest.raises(ColumnError, match="'Themes'"):
        old.predict(frame.drop(columns=["Themes"]))


def test_extra_columns_are_ignored(anime, fitted_model):
    extra = anime.assign(Synopsis="text", Members=1000, Unnamed=np.nan)
    np.testing.assert_array_equal(
        fitted_model.predict(extra), fitted_model.predict(anime)
    )


def test_columns_of_the_wrong_dtype_are_converted(anime):
    odd = anime.copy()
    odd["Episodes"] = odd["Episodes"].astype(str)  # numbers as text
    odd["Type"] = np.arange(len(odd)) % 3  # categories as integers
    odd["Genres"] = np.arange(len(odd)) % 4  # labels as integers
    model = fast_model().fit(odd, odd["Score"])
    assert np.isfinite(model.predict(odd)).all()


def test_empty_frame_and_single_row(anime, fitted_model):
    with pytest.raises(DataError, match="0 samples"):
        fast_model().fit(anime.head(0), anime["Score"].head(0))
    with pytest.raises(DataError, match="at least 2 samples"):
        fast_model(validation_fraction=0).fit(anime.head(1), anime["Score"].head(1))
    assert fitted_model.predict(anime.head(1)).shape == (1,)


@pytest.mark.parametrize("blank", [np.nan, None, ""])
def test_blanks_in_every_column_kind(anime, blank):
    frame = anime.astype(object).copy()
    rows = frame.index[::3]
    for column in ["Episodes", "Type", "Source", "Rating", "Genres", "Themes"]:
        frame.loc[rows, column] = blank
    frame.loc[rows, "poster"] = blank
    model = fast_model().fit(frame, anime["Score"])
    assert np.isfinite(model.predict(frame)).all()


def test_unknown_episodes_are_missing_silently_absurd_ones_with_a_count(anime):
    frame = anime.copy()
    frame["Episodes"] = frame["Episodes"].astype(object)
    frame.loc[frame.index[:3], "Episodes"] = "Unknown"
    frame.loc[frame.index[3:5], "Episodes"] = [-4, 10**9]
    with pytest.warns(DataWarning, match=r"'Episodes': 2 value\(s\) are outside"):
        model = fast_model().fit(frame, frame["Score"])
    encoded = model.pipeline_[:-2].transform(frame)
    assert encoded["numeric__Episodes_missing"].iloc[:5].eq(1).all()


def test_other_text_in_numeric_and_duration_columns_is_missing_with_a_count(anime):
    """Through the estimator, whose cleaner reads the text before the encoders:
    placeholders are missing silently, other text with a warning in fit and in
    predict."""
    frame = anime.copy()
    frame["Episodes"] = frame["Episodes"].astype(object)
    frame.loc[frame.index[:4], "Episodes"] = ["12 eps", "many", "Unknown", ""]
    frame["Duration"] = [f"{m:.0f} min. per ep." for m in frame["Duration"]]
    frame.loc[frame.index[:2], "Duration"] = ["a while", "Unknown"]
    with pytest.warns(DataWarning) as caught:
        model = fast_model().fit(frame, frame["Score"])
    said = [str(w.message) for w in caught]
    assert any(
        "'Episodes': 2 value(s) are not numbers (e.g. '12 eps')" in m for m in said
    )
    assert any("'Duration': 1 value(s) are not durations" in m for m in said), said
    # each points at this file's line, not at scikit-learn's _set_output.py
    assert {w.filename for w in caught} == {__file__}
    assert model.column_roles_.role_of("Duration") == "duration"
    with pytest.warns(
        DataWarning, match=r"'Episodes': 1 value\(s\) are not numbers"
    ) as caught:
        model.predict(frame.head(3).assign(Episodes=["12", "lots", "Unknown"]))
    assert caught[0].filename == __file__
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)  # placeholders say nothing
        model.predict(frame.iloc[4:8].assign(Episodes=["Unknown", "", None, "7"]))


def test_a_comma_counts_only_as_a_thousands_separator(anime):
    """ "1,024" is 1024 (MyAnimeList's Members), but "5,23" (a decimal comma) is
    not 523: it is missing, with the warning of any other text."""
    cleaner = TableCleaner().fit(anime)
    frame = anime.head(4).astype({"Episodes": object})
    frame["Episodes"] = ["1,024", "5,23", "12", "2,893,578"]
    with pytest.warns(DataWarning, match=r"'Episodes': 1 value\(s\).*'5,23'"):
        episodes = cleaner.transform(frame)["Episodes"].tolist()
    assert episodes[0] == 1024 and np.isnan(episodes[1])
    assert episodes[2:] == [12, 2893578]


def test_money_and_percentages_are_numbers_in_their_unit(anime):
    """ "$1,200" and "85%" were text: the roles took the columns for labels or
    identifiers, and a numeric column read them as missing, with a warning."""
    from skanime import infer_column_roles

    rng = np.random.default_rng(0)
    frame = anime.assign(
        Budget=[f"${b:,}" for b in rng.choice([800, 1200, 15000], len(anime))],
        Share=[f"{s}%" for s in rng.choice([5, 40, 85], len(anime))],
    )
    roles = infer_column_roles(frame.drop(columns="Score"))
    assert roles.role_of("Budget") == roles.role_of("Share") == "numeric"
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)  # nothing unread
        cleaned = TableCleaner(roles=roles).fit_transform(frame)
    assert set(cleaned["Budget"]) == {800, 1200, 15000}
    assert set(cleaned["Share"]) == {5, 40, 85}


def test_categories_and_labels_never_seen_are_ignored(anime, fitted_model):
    new = anime.head(3).assign(
        Type="Hologram", Source="Dream", Genres="Cyber-Opera, Action"
    )
    assert np.isfinite(fitted_model.predict(new)).all()


def test_categories_and_labels_in_another_case_predict_as_written_in_training(
    anime, fitted_model
):
    """A table writing "MOVIE", "MANGA" and "bones" (AniList writes studios
    so) was read as holding types, sources and studios never seen."""
    shouted = anime.assign(
        Type=anime["Type"].str.upper(),
        Source=anime["Source"].str.upper(),
        Genres=anime["Genres"].str.lower(),
        Studios=anime["Studios"].str.lower(),
    )
    np.testing.assert_allclose(
        fitted_model.predict(shouted), fitted_model.predict(anime)
    )


def test_list_cells_with_odd_separators_and_spaces(anime):
    model = fast_model().fit(anime, anime["Score"])
    encoder = model.pipeline_[:-2]
    tidy = encoder.transform(anime.head(1).assign(Genres="Action, Drama"))
    genres = [c for c in tidy.columns if c.startswith("lists__Genres_")]
    for odd in ["Action;Drama", "  Action |Drama ", "Action/ Drama", "Action,,Drama"]:
        out = encoder.transform(anime.head(1).assign(Genres=odd))
        pd.testing.assert_frame_equal(out[genres], tidy[genres])


_LIST_COLUMNS = ["Genres", "Themes", "Studios", "Producers"]


def _as_label_lists(frame: pd.DataFrame, kind: str) -> pd.DataFrame:
    """``frame`` with its list columns' cells already split, as ``kind`` has them."""
    split = frame.assign(**{c: frame[c].str.split(", ") for c in _LIST_COLUMNS})
    if kind == "tuple":
        return split.assign(
            **{c: split[c].map(tuple, na_action="ignore") for c in _LIST_COLUMNS}
        )
    if kind == "set":
        return split.assign(
            **{c: split[c].map(set, na_action="ignore") for c in _LIST_COLUMNS}
        )
    if kind == "ndarray":  # what pd.read_parquet gives for a list column
        return split.assign(
            **{c: split[c].map(np.array, na_action="ignore") for c in _LIST_COLUMNS}
        )
    if kind == "arrow":  # pd.read_parquet(..., dtype_backend="pyarrow")
        pa = pytest.importorskip("pyarrow")
        arrow = pd.ArrowDtype(pa.list_(pa.string()))
        return split.astype(dict.fromkeys(_LIST_COLUMNS, arrow))
    if kind == "polars":
        return pytest.importorskip("polars").from_pandas(split)
    return split


@pytest.mark.parametrize("kind", ["list", "tuple", "set", "ndarray", "arrow", "polars"])
def test_label_cells_already_split_are_read_as_their_text(anime, kind):
    """JSON, Parquet, polars and ``str.split`` give list columns as lists. They
    used to be read as their repr: ``"['Action', 'Drama']"`` gave the labels
    ``['Action'`` and ``'Drama']``, and an array cell (``['Action' 'Drama']``)
    one label per combination."""
    text = fast_model().fit(anime, anime["Score"])
    split = fast_model().fit(_as_label_lists(anime, kind), anime["Score"].to_numpy())
    np.testing.assert_array_equal(
        split.predict(_as_label_lists(anime.head(5), kind)),
        text.predict(anime.head(5)),
    )
    # the text model reads split cells too, and the split model text cells
    np.testing.assert_array_equal(
        text.predict(_as_label_lists(anime.head(5), kind)), text.predict(anime.head(5))
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (np.nan, "NaN or infinite"),
        (np.inf, "NaN or infinite"),
        ("8.5/10", "must be numeric"),
        (85.0, r"outside \[1, 10\]"),
        (0.0, r"outside \[1, 10\]"),
    ],
)
def test_bad_targets(anime, value, message):
    y = anime["Score"].astype(object).copy()
    y.iloc[4] = value
    with pytest.raises(TargetError, match=message):
        fast_model().fit(anime, y)


def test_target_range_none_accepts_another_scale(anime):
    model = fast_model(target_range=None).fit(anime, anime["Score"] * 10)
    assert model.predict(anime).mean() > 20


def test_predict_without_the_poster_column_the_model_was_trained_with(fitted_model):
    from skanime.datasets import make_anime

    frame = make_anime(5, random_state=3).drop(columns=["poster"])
    with pytest.raises(ColumnError, match="poster_column: 'poster'"):
        fitted_model.predict(frame)


def test_a_tabular_model_ignores_a_poster_column(anime):
    model = fast_model(poster_column=None).fit(
        anime.drop(columns=["poster"]), anime["Score"]
    )
    np.testing.assert_array_equal(
        model.predict(anime), model.predict(anime.drop(columns=["poster"]))
    )
