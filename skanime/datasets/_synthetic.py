"""``make_anime``: a synthetic anime table with generated posters.

The score depends on the table (type, source, genres, studio, episodes, year, ...)
and on visible properties of the poster (its colour balance and brightness), so both
branches of the hybrid network have something real to learn. Everything it returns
is synthetic and labelled so: titles read "Synthetic anime #...", and the frame's
``attrs["synthetic"]`` is True.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from numbers import Integral
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image
from sklearn.utils import check_random_state

__all__ = ["make_anime"]

_TYPES = {
    "TV": 0.15,
    "Movie": 0.3,
    "OVA": -0.1,
    "ONA": -0.3,
    "Special": -0.2,
    "Music": -0.5,
}
_TYPE_P = [0.45, 0.15, 0.12, 0.13, 0.1, 0.05]
_SOURCES = {
    "Manga": 0.3,
    "Original": 0.0,
    "Light novel": 0.15,
    "Visual novel": 0.1,
    "Game": -0.25,
    "Novel": 0.2,
    "Web manga": 0.2,
    "Other": -0.3,
}
_GENRES = {
    "Action": 0.1,
    "Comedy": 0.0,
    "Drama": 0.25,
    "Romance": 0.0,
    "Fantasy": -0.05,
    "Sci-Fi": 0.1,
    "Slice of Life": 0.1,
    "Mystery": 0.25,
    "Horror": -0.3,
    "Sports": 0.15,
    "Ecchi": -0.45,
    "Adventure": 0.1,
    "Supernatural": 0.05,
}
_THEMES = {
    "School": -0.05,
    "Military": 0.15,
    "Mecha": 0.0,
    "Music": 0.05,
    "Historical": 0.15,
    "Isekai": -0.15,
    "Psychological": 0.3,
    "Time Travel": 0.2,
    "Idols (Female)": -0.2,
}
_STUDIOS = {
    "Bones": 0.4,
    "Madhouse": 0.35,
    "Kyoto Animation": 0.35,
    "Sunrise": 0.15,
    "Toei Animation": 0.0,
    "J.C.Staff": -0.05,
    "Studio Deen": -0.1,
    "Production I.G": 0.25,
    "A-1 Pictures": 0.1,
    "Shaft": 0.2,
    "Studio Pierrot": 0.0,
    "TMS Entertainment": 0.05,
    "OLM": -0.2,
    "Gonzo": -0.15,
    "Xebec": -0.2,
    "Silver Link.": -0.1,
}
_RATINGS = {
    "G - All Ages": -0.2,
    "PG - Children": -0.25,
    "PG-13 - Teens 13 or older": 0.1,
    "R - 17+ (violence & profanity)": 0.2,
    "R+ - Mild Nudity": -0.3,
}
_SEASONS = ("Winter", "Spring", "Summer", "Fall")


_TEMPORARY_ROOT: list[str] = []


def _temporary_poster_dir() -> str:
    """A new folder under this process's temporary root, which is removed with
    everything in it when the Python process exits."""
    if not _TEMPORARY_ROOT:
        root = tempfile.mkdtemp(prefix="skanime_posters_")
        atexit.register(shutil.rmtree, root, ignore_errors=True)
        _TEMPORARY_ROOT.append(root)
    return tempfile.mkdtemp(prefix="make_anime_", dir=_TEMPORARY_ROOT[0])


def _pick(rng, options: dict, k_low: int, k_high: int) -> list[str]:
    k = rng.integers(k_low, k_high + 1)
    return list(rng.choice(list(options), size=min(k, len(options)), replace=False))


def _draw_poster(rng, visual: float, size: int) -> Image.Image:
    """A poster whose warmth and brightness grow with ``visual`` (shapes are noise)."""
    warm = 1 / (1 + np.exp(-1.5 * visual))
    base = np.array([60 + 170 * warm, 70 + 40 * rng.random(), 230 - 170 * warm])
    pixels = np.empty((size, size, 3), dtype=np.float64)
    gradient = np.linspace(0.7, 1.1, size)[:, None, None]
    pixels[:] = base * gradient
    for _ in range(rng.integers(2, 6)):  # random rectangles: "characters", noise
        x0, y0 = rng.integers(0, size - 4, 2)
        w, h = rng.integers(3, max(4, size // 2), 2)
        pixels[y0 : y0 + h, x0 : x0 + w] = rng.integers(0, 256, 3)
    pixels += rng.normal(0, 8, pixels.shape)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), mode="RGB")


def make_anime(
    n_samples: int = 500,
    *,
    random_state=None,
    poster_dir: str | os.PathLike | None = None,
    poster_fraction: float = 0.9,
    image_size: int = 64,
    noise: float = 0.3,
) -> pd.DataFrame:
    """Generate a synthetic anime table, with posters written to ``poster_dir``.

    Parameters
    ----------
    n_samples : int, default=500
        Number of anime (rows).
    random_state : int, RandomState instance or None, default=None
        Seed: the same seed gives the same table and the same poster pixels.
    poster_dir : str or path-like, default=None
        Folder for the generated JPEG posters (created if needed). If None, a new
        temporary folder, deleted when the Python process exits: pass a folder to
        keep the posters.
    poster_fraction : float, default=0.9
        Share of the rows that get a poster; the others have a missing poster.
    image_size : int, default=64
        Side of the generated posters in pixels.
    noise : float, default=0.3
        Standard deviation of the score's unexplained part.

    Returns
    -------
    DataFrame
        The columns of :func:`load_mal` (``anime_id``, ``Title``, ``Type``,
        ``Episodes``, ``Duration``, ``Year``, ``Season``, ``Source``, ``Genres``,
        ``Themes``, ``Studios``, ``Producers``, ``Rating``, ``poster``) and the
        target ``Score`` (1 to 10). ``attrs["synthetic"]`` is True.

    Examples
    --------
    >>> from skanime.datasets import make_anime
    >>> df = make_anime(20, random_state=0)
    >>> df.shape
    (20, 15)
    >>> df[["Title", "Type", "Episodes", "Genres", "Score"]].head(2)
                    Title   Type  Episodes                     Genres  Score
    0  Synthetic anime #1     TV      13.0            Romance, Sports   7.43
    1  Synthetic anime #2  Movie       1.0  Adventure, Drama, Fantasy   7.73
    >>> make_anime(20, random_state=0)["Score"].equals(df["Score"])  # same seed
    True
    """
    for name, value in (("n_samples", n_samples), ("image_size", image_size)):
        if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
            raise ValueError(f"Got {name}={value!r}, expected a positive integer.")
    if not 0 <= poster_fraction <= 1:
        raise ValueError(f"Got poster_fraction={poster_fraction!r}, expected 0 to 1.")
    if not noise >= 0:  # NaN too
        raise ValueError(f"Got noise={noise!r}, expected a number >= 0.")
    if poster_dir is not None and Path(poster_dir).is_file():
        raise ValueError(f"poster_dir={str(poster_dir)!r} is a file; name a folder.")
    seed = check_random_state(random_state).randint(2**31 - 1)
    rng = np.random.default_rng(seed)
    if poster_dir is None:
        poster_dir = _temporary_poster_dir()
    poster_dir = Path(poster_dir)
    poster_dir.mkdir(parents=True, exist_ok=True)

    rows, scores = [], []
    for i in range(n_samples):
        kind = str(rng.choice(list(_TYPES), p=_TYPE_P))
        source = str(rng.choice(list(_SOURCES)))
        genres = _pick(rng, _GENRES, 1, 4)
        themes = _pick(rng, _THEMES, 0, 2)
        studio = str(rng.choice(list(_STUDIOS)))
        rating = str(rng.choice(list(_RATINGS)))
        episodes = {
            "TV": rng.choice([12, 13, 24, 26, 50]),
            "Movie": 1,
            "Music": 1,
        }.get(kind, rng.integers(1, 7))
        duration = {"Movie": rng.uniform(60, 130), "Music": rng.uniform(2, 5)}.get(
            kind, rng.uniform(5, 25) if kind in ("ONA", "Special") else 24.0
        )
        year = int(rng.integers(1975, 2024))
        visual = rng.normal()
        score = (
            6.6
            + _TYPES[kind]
            + _SOURCES[source]
            + _STUDIOS[studio]
            + _RATINGS[rating]
            + sum(_GENRES[g] for g in genres)
            + sum(_THEMES[t] for t in themes)
            + 0.15 * np.log1p(episodes)
            + 0.012 * (year - 2000)
            + 0.35 * visual
            + rng.normal(0, noise)
        )
        poster = None
        if rng.random() < poster_fraction:
            path = poster_dir / f"synthetic_{seed}_{i}.jpg"
            _draw_poster(rng, visual, image_size).save(path, quality=90)
            poster = str(path)
        rows.append(
            {
                "anime_id": i + 1,
                "Title": f"Synthetic anime #{i + 1}",
                "Type": kind,
                "Episodes": float(episodes) if rng.random() > 0.03 else np.nan,
                "Duration": round(float(duration), 1),
                "Year": float(year),
                "Season": str(rng.choice(_SEASONS)),
                "Source": source,
                "Genres": ", ".join(sorted(genres)),
                "Themes": ", ".join(sorted(themes)) if themes else np.nan,
                "Studios": studio,
                "Producers": ", ".join(
                    sorted(
                        rng.choice(
                            [
                                "Aniplex",
                                "Dentsu",
                                "TV Tokyo",
                                "Pony Canyon",
                                "Kadokawa",
                            ],
                            size=2,
                            replace=False,
                        )
                    )
                ),
                "Rating": rating,
                "poster": poster,
            }
        )
        scores.append(float(np.clip(score, 1.0, 10.0)))
    frame = pd.DataFrame(rows)
    frame["Score"] = np.round(scores, 2)
    frame.attrs["synthetic"] = True
    return frame
