"""PosterLoader: path resolution, decoding, and the missing-poster policy."""

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from skanime import PosterLoader, _posters
from skanime.exceptions import DataWarning, PosterError


@pytest.fixture
def posters(tmp_path):
    Image.new("RGB", (30, 40), (255, 0, 0)).save(tmp_path / "red.jpg")
    Image.new("RGBA", (10, 10), (0, 0, 255, 0)).save(tmp_path / "clear.png")
    Image.new("L", (8, 8), 128).save(tmp_path / "grey.png")
    (tmp_path / "text.jpg").write_text("not an image")
    (tmp_path / "empty.jpg").write_bytes(b"")
    return tmp_path


def test_transform_resolves_paths_and_keeps_missing(posters):
    X = pd.DataFrame({"poster": ["red.jpg", None, ""]})
    out = PosterLoader(poster_root=posters).fit_transform(X)
    assert out.shape == (3, 1)
    assert out[0, 0] == str(posters / "red.jpg")
    assert out[1, 0] is None and out[2, 0] is None


@pytest.mark.parametrize("name", ["text.jpg", "empty.jpg", "nope.jpg", "."])
def test_unreadable_poster_warns_or_raises(posters, name):
    X = pd.DataFrame({"poster": ["red.jpg", name]})
    with pytest.warns(DataWarning, match="1 poster"):
        out = PosterLoader(poster_root=posters).fit_transform(X)
    assert out[1, 0] is None
    with pytest.raises(PosterError, match=r"Row 1: poster .*"):
        PosterLoader(poster_root=posters, poster_errors="raise").fit_transform(X)


def test_load_resizes_normalises_and_converts_modes(posters):
    loader = PosterLoader(image_size=12)
    red = loader.load(str(posters / "red.jpg"))
    assert red.shape == (3, 12, 12) and red.dtype == np.float32
    expected = (np.array([1.0, 0.0, 0.0]) - np.array(loader.mean)) / np.array(
        loader.std
    )
    np.testing.assert_allclose(red.mean(axis=(1, 2)), expected, atol=0.1)
    # a transparent PNG lies on white; a grayscale image gets three channels
    clear = loader.load(str(posters / "clear.png"))
    white = (1.0 - np.array(loader.mean)) / np.array(loader.std)
    np.testing.assert_allclose(clear.mean(axis=(1, 2)), white, atol=1e-5)
    assert loader.load(str(posters / "grey.png")).shape == (3, 12, 12)


def test_load_batch_marks_missing(posters):
    images, has = PosterLoader(image_size=8).load_batch(
        [str(posters / "red.jpg"), None]
    )
    assert images.shape == (2, 3, 8, 8)
    np.testing.assert_array_equal(has, [1, 0])
    assert (images[1] == 0).all()


def test_progress_bar_on_large_frames_only(posters, capsys, monkeypatch):
    """A large frame whose check takes a second gets a bar; a quick check (here
    1,200 rows, nearly all empty) none, so repeated predict calls stay quiet."""
    X = pd.DataFrame({"poster": ["red.jpg"] + [None] * 1199})
    PosterLoader(poster_root=posters, progress=True).fit_transform(X)
    assert "checking posters" not in capsys.readouterr().err
    monkeypatch.setattr(_posters, "_PROGRESS_DELAY_S", 0.0)
    PosterLoader(poster_root=posters, progress=True).fit_transform(X)
    assert "checking posters" in capsys.readouterr().err
    PosterLoader(poster_root=posters, progress=True).fit_transform(X.head(10))
    PosterLoader(poster_root=posters).fit_transform(X)
    assert "checking posters" not in capsys.readouterr().err


@pytest.mark.parametrize("suffix", [".jpg", ".png"])
@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_exif_orientation_is_applied(orientation, suffix, tmp_path):
    """A photo stored sideways with an EXIF tag saying so is decoded upright."""
    stored = Image.new("RGB", (32, 16), (255, 0, 0))
    stored.paste((0, 0, 255), (16, 0, 32, 16))  # left half red, right half blue
    exif = Image.Exif()
    exif[0x0112] = orientation  # the Orientation tag
    tagged = tmp_path / f"tagged{suffix}"
    stored.save(tagged, exif=exif, quality=95)
    turn = {
        3: Image.Transpose.ROTATE_180,
        6: Image.Transpose.ROTATE_270,
        8: Image.Transpose.ROTATE_90,
    }[orientation]
    upright = tmp_path / f"upright{suffix}"
    stored.transpose(turn).save(upright, quality=95)
    loader = PosterLoader(image_size=16).fit(pd.DataFrame({"poster": [str(tagged)]}))
    got = loader.decode(str(tagged)).astype(int)
    expected = loader.decode(str(upright)).astype(int)
    assert np.abs(got - expected).max() < 40  # JPEG's blur at the boundary only
    assert np.abs(got - loader.decode(_untagged(stored, tmp_path))).max() > 200


def _untagged(image, folder):
    path = folder / "untagged.png"
    image.save(path)
    return str(path)
