"""Data for skanime: a synthetic generator and loaders of real MyAnimeList data."""

from ._synthetic import make_anime

__all__ = ["make_anime"]
