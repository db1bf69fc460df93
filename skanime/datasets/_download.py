"""``download_posters``: fetch poster images from a URL column into a cache folder."""

from __future__ import annotations

import hashlib
import os
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from PIL import Image, UnidentifiedImageError

from .._atomic import atomic_path

__all__ = ["download_posters", "DownloadSummary"]


@dataclass
class DownloadSummary:
    """What :func:`download_posters` did.

    Attributes
    ----------
    paths : Series
        Local poster path per row of the frame (NaN where there is none), ready for
        ``df["poster"] = summary.paths``.
    downloaded, skipped : int
        Files fetched now, and files already in the cache (not fetched again).
    failures : dict
        Row label -> ``"URL: reason"`` for every poster that could not be fetched.
    """

    paths: pd.Series
    downloaded: int = 0
    skipped: int = 0
    failures: dict = field(default_factory=dict)
    # row label -> the row's id (``anime_id 7``), to name a failed row by
    _ids: dict = field(default_factory=dict, repr=False)

    def __str__(self) -> str:
        lines = [
            f"{self.downloaded} poster(s) downloaded, {self.skipped} already cached, "
            f"{len(self.failures)} failed."
        ]
        lines += [
            f"  row {row!r}{self._id_words(row)}: {why}"
            for row, why in list(self.failures.items())[:20]
        ]
        if len(self.failures) > 20:
            lines.append(f"  ... and {len(self.failures) - 20} more")
        return "\n".join(lines)

    def _id_words(self, row) -> str:
        """`` (anime_id 7)`` for a row whose id is known, else nothing."""
        return f" ({self._ids[row]})" if row in self._ids else ""


class _PermanentError(Exception):
    """A failure that retrying cannot fix (404, not an image, too large)."""


def _file_name(row_id, url: str) -> str:
    suffix = Path(url.split("?")[0]).suffix.lower()
    suffix = suffix if suffix in {".jpg", ".jpeg", ".png", ".webp", ".gif"} else ".jpg"
    if row_id is not None and not pd.isna(row_id):
        name = str(row_id).strip()
        # an id that is not a plain name ("../x", "a/b") would leave dest
        if name and re.fullmatch(r"[\w.-]+", name) and not name.startswith("."):
            return f"{name}{suffix}"
    return hashlib.sha1(url.encode()).hexdigest()[:16] + suffix


def _fetch(url: str, target: Path, *, timeout: float, max_bytes: int) -> None:
    """Download ``url`` to ``target`` atomically, checking size and image type."""
    scheme = urllib.parse.urlsplit(url).scheme.lower()
    if scheme not in ("http", "https"):  # file://, ftp://, data: ... are not fetched
        raise _PermanentError(
            f"only http and https URLs are fetched, not {scheme or 'a bare path'}"
        )
    request = urllib.request.Request(url, headers={"User-Agent": "skanime"})
    with atomic_path(target) as tmp:
        try:
            response = urllib.request.urlopen(request, timeout=timeout)
        except urllib.error.HTTPError as exc:
            if 400 <= exc.code < 500:
                raise _PermanentError(f"HTTP {exc.code}") from exc
            raise
        with response:
            length = response.headers.get("Content-Length")
            if length is not None and int(length) > max_bytes:
                raise _PermanentError(
                    f"{int(length)} bytes is over the {max_bytes} limit"
                )
            size = 0
            with open(tmp, "wb") as out:
                while chunk := response.read(64 * 1024):
                    size += len(chunk)
                    if size > max_bytes:
                        raise _PermanentError(f"more than the {max_bytes}-byte limit")
                    out.write(chunk)
        try:
            with Image.open(tmp) as image:
                image.verify()
        except (UnidentifiedImageError, OSError, SyntaxError) as exc:
            raise _PermanentError("the response is not an image") from exc


def download_posters(
    df: pd.DataFrame,
    dest: str | os.PathLike,
    *,
    url_column: str = "image_url",
    id_column: str | None = "anime_id",
    max_workers: int = 8,
    retries: int = 2,
    timeout: float = 10.0,
    max_bytes: int = 5_000_000,
    progress: bool = True,
) -> DownloadSummary:
    """Fetch the poster of every row from its URL into ``dest``.

    Concurrent (a thread pool), resumable (files already in ``dest`` are kept and
    not fetched again), with retries on network errors and server errors (5xx),
    a per-file size limit, and a progress bar. A 4xx answer, a body that is not an
    image, or one over ``max_bytes`` fails at once. Files appear atomically: a
    failed download leaves nothing in ``dest``.

    Parameters
    ----------
    df : DataFrame
        Rows with a URL column (e.g. from :func:`load_mal` on Kaggle's CSV).
    dest : str or path-like
        Cache folder (created if needed).
    url_column : str, default="image_url"
    id_column : str or None, default="anime_id"
        Names the files (``<id>.jpg``); a hash of the URL where None or missing.
    max_workers : int, default=8
    retries : int, default=2
        Extra attempts after a network or server error.
    timeout : float, default=10.0
        Seconds to wait for the server before an attempt fails.
    max_bytes : int, default=5_000_000
        Largest file accepted.
    progress : bool, default=True
        Show a progress bar (tqdm) on stderr.

    Returns
    -------
    DownloadSummary
        Local paths per row, counts, and the failures with their reasons.

    Examples
    --------
    Posters already in ``dest`` (from an earlier, interrupted run) are kept, and
    only the others are fetched:

    >>> import pathlib, tempfile
    >>> import pandas as pd
    >>> from skanime.datasets import download_posters
    >>> tmp = tempfile.TemporaryDirectory()
    >>> dest = pathlib.Path(tmp.name)
    >>> _ = (dest / "1.jpg").write_bytes(b"a poster fetched before")
    >>> df = pd.DataFrame({"anime_id": [1], "image_url": ["https://a.example/1.jpg"]})
    >>> summary = download_posters(df, dest, progress=False)
    >>> summary.skipped, summary.downloaded, summary.failures
    (1, 0, {})
    >>> df["poster"] = summary.paths
    >>> pathlib.Path(df.loc[0, "poster"]).name
    '1.jpg'
    >>> tmp.cleanup()
    """
    if url_column not in df.columns:
        raise KeyError(
            f"Column {url_column!r} not found; the frame has {list(df.columns)}."
        )
    dest = Path(dest)
    if dest.is_file():
        raise ValueError(f"dest={str(dest)!r} is a file; name a folder.")
    dest.mkdir(parents=True, exist_ok=True)
    summary = DownloadSummary(paths=pd.Series(pd.NA, index=df.index, dtype=object))
    jobs = {}
    for row, url in df[url_column].items():
        if not isinstance(url, str) or not url.strip():
            continue
        row_id = df.at[row, id_column] if id_column in df.columns else None
        if not pd.isna(row_id):
            summary._ids[row] = f"{id_column} {row_id}"
        target = dest / _file_name(row_id, url.strip())
        if target.is_file() and target.stat().st_size > 0:
            summary.paths[row] = str(target.resolve())
            summary.skipped += 1
        else:
            jobs[row] = (url.strip(), target)

    def attempt(url: str, target: Path) -> None:
        for n in range(retries + 1):
            try:
                return _fetch(url, target, timeout=timeout, max_bytes=max_bytes)
            except _PermanentError:
                raise
            except (urllib.error.URLError, OSError, TimeoutError) as exc:
                if n == retries:
                    raise _PermanentError(
                        f"{getattr(exc, 'reason', exc)} (after {retries + 1} attempts)"
                    ) from exc
                time.sleep(0.2 * 2**n)

    from .._progress import progress_bar

    with (
        ThreadPoolExecutor(max_workers=max_workers) as pool,
        progress_bar(
            total=len(jobs), desc="posters", unit="file", disable=not progress
        ) as bar,
    ):
        futures = {pool.submit(attempt, *job): row for row, job in jobs.items()}
        for future in as_completed(futures):
            row = futures[future]
            url, target = jobs[row]
            try:
                future.result()
            except _PermanentError as exc:
                summary.failures[row] = f"{url}: {exc}"
            else:
                summary.paths[row] = str(target.resolve())
                summary.downloaded += 1
            bar.update()
    # in the frame's order, not the order the fetches ended in
    summary.failures = {
        row: summary.failures[row] for row in jobs if row in summary.failures
    }
    return summary
