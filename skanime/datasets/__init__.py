"""Data for skanime: a synthetic generator and loaders of real MyAnimeList data."""

from ._download import DownloadSummary, download_posters
from ._mal import (
    PAPER_COLUMNS,
    PAPER_MODEL,
    PRERELEASE_COLUMNS,
    load_mal,
    parse_aired,
    parse_duration,
    two_digit_year_span,
)
from ._synthetic import make_anime

__all__ = [
    "DownloadSummary",
    "download_posters",
    "PAPER_COLUMNS",
    "PAPER_MODEL",
    "PRERELEASE_COLUMNS",
    "load_mal",
    "make_anime",
    "parse_aired",
    "parse_duration",
    "two_digit_year_span",
]
