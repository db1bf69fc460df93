"""Posters: from a column of paths to fixed-size float32 image tensors.

:class:`PosterLoader` is the poster branch of the data's path. As a transformer it
only *resolves and checks* paths (cheap: it reads image headers, not pixels) and
hands a column of absolute paths (or ``None`` for a missing poster) down the
pipeline; the pixels are decoded later, one poster at a time, by
:meth:`PosterLoader.load`, which the network's dataset calls per batch. So a frame of
any size never has all of its images in memory at once.
"""

from __future__ import annotations

import os
import warnings
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from numbers import Integral

import numpy as np
import pandas as pd
import scipy.sparse as sp
from PIL import Image, ImageOps, UnidentifiedImageError
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from ._docs import substitute
from ._held_images import held_image, held_image_file
from ._progress import progress_bar
from ._utils import IMAGENET_MEAN, IMAGENET_STD, URL_SCHEME, is_missing
from ._warn import warn_user
from .exceptions import ColumnError, DataWarning, PosterError

__all__ = [
    "PosterLoader",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "decoded_batches",
    "poster_loader_for",
]

#: Results of the full check of a poster file, by (path, size, mtime, settings).
_CHECKED: dict[tuple, str | None] = {}
#: Seconds a check runs before its progress bar appears: a frame whose posters
#: were checked before (a model's repeated predict calls) passes without one.
_PROGRESS_DELAY_S = 1.0

#: Why a URL in the poster column is not read.
_URL_PROBLEM = (
    "a URL, not a file: posters are read from disk, so fetch them first "
    "(skanime.datasets.download_posters(df, folder, url_column=...).paths is a "
    "column of local paths to train on)"
)


def _to_rgb(image: Image.Image) -> Image.Image:
    """RGB version of any PIL image; transparent parts are laid on white."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        array = np.asarray(image, dtype=np.float64)
        top = array.max() or 1.0
        image = Image.fromarray((array / top * 255).astype(np.uint8), mode="L")
    if image.mode == "P":
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA"):
        background = Image.new("RGBA", image.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, image.convert("RGBA"))
    return image if image.mode == "RGB" else image.convert("RGB")


@substitute
class PosterLoader(TransformerMixin, BaseEstimator):
    """Resolve a column of poster paths and decode posters into float32 tensors.

    ``transform`` returns the column of absolute paths, with ``None`` where a poster
    is missing; :meth:`load` and :meth:`load_batch` decode posters into normalised
    ``(3, image_size, image_size)`` float32 arrays. :class:`HybridNet` decodes each
    poster per batch through :meth:`load`, inside DataLoader workers.

    **Images held in the cells** (bytes, PIL images, ``uint8`` arrays of
    pixels, a Hugging Face image's ``{"bytes", "path"}`` dict) are written once
    to a file of the process (:mod:`skanime._held_images`) and read from it.

    **Missing posters.** An empty cell (``None``, NaN or ``""``) is a missing poster:
    the network sees an all-zero image (the mean image after normalisation) and a
    ``has_image`` flag of 0, so it can learn what "no poster" means. With
    ``poster_errors="warn"`` (the default), a path that does not lead to a readable
    image (no such file, a directory, an empty file, not an image, a cell that is
    not a path at all, such as a number) is treated the same way and one
    :class:`~skanime.exceptions.DataWarning` counts those rows; with
    ``poster_errors="raise"`` it raises :class:`~skanime.exceptions.PosterError`
    naming the row and the path.

    Parameters
    ----------
    image_size : int, default=64
        Side of the square image the posters are resized to.
    %(poster_root)s
    %(poster_errors)s
    mean, std : tuple of 3 floats, default=ImageNet's
        Per-channel normalisation of pixel values in [0, 1].
    progress : bool, default=False
        Show a progress bar while checking the posters of a large frame
        (1000 rows or more), once the check has taken a second.
    max_pixels : int, default=40_000_000
        Larger images (width x height, read from the header) are refused as
        possible decompression bombs, before any pixel is decoded; they count as
        unreadable (see ``poster_errors``).

    Attributes
    ----------
    n_features_in_ : int
        Always 1: the poster column.
    feature_names_in_ : ndarray of str
        The poster column's name, when ``X`` was a DataFrame.
    """

    _parameter_constraints = {
        "image_size": [Interval(Integral, 1, None, closed="left")],
        "poster_root": [str, os.PathLike, None],
        "poster_errors": [StrOptions({"warn", "raise"})],
        "mean": [tuple, list],
        "std": [tuple, list],
        "progress": ["boolean"],
        "max_pixels": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        image_size=64,
        poster_root=None,
        poster_errors="warn",
        mean=IMAGENET_MEAN,
        std=IMAGENET_STD,
        progress=False,
        max_pixels=40_000_000,
    ):
        self.image_size = image_size
        self.poster_root = poster_root
        self.poster_errors = poster_errors
        self.mean = mean
        self.std = std
        self.progress = progress
        self.max_pixels = max_pixels

    def _check_column(self, X, *, reset):
        if sp.issparse(X):
            raise TypeError(
                "PosterLoader does not accept sparse input: it expects a column of "
                "poster paths (a sparse matrix was passed)."
            )
        validate_data(
            self,
            X,
            dtype=None,
            ensure_all_finite=False,
            ensure_2d=False,
            skip_check_array=True,
            reset=reset,
        )
        values = X.to_numpy() if isinstance(X, pd.DataFrame | pd.Series) else X
        values = np.asarray(values, dtype=object)
        if values.ndim == 2 and values.shape[1] == 1:
            values = values[:, 0]
        if values.ndim != 1:
            raise ColumnError(
                f"PosterLoader expects a single column of poster paths; got an array "
                f"of shape {np.shape(values)}."
            )
        return values

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Check that ``X`` is one column of paths; nothing is learned."""
        self._check_column(X, reset=True)
        self.n_features_in_ = 1
        return self

    def resolve(self, value) -> str:
        """The absolute path of a poster path (relative to ``poster_root``)."""
        path = os.fspath(value)
        if self.poster_root is not None and not os.path.isabs(path):
            path = os.path.join(os.fspath(self.poster_root), path)
        return os.path.abspath(path)

    def _root_hint(self, value, problem: str) -> str:
        """Advice naming ``poster_root`` for a relative path that leads nowhere."""
        if problem != "no such file" or not isinstance(value, str | os.PathLike):
            return ""
        path = os.fspath(value)
        if os.path.isabs(path) or "://" in str(path):
            return ""
        where = (
            f"poster_root={os.fspath(self.poster_root)!r}"
            if self.poster_root is not None
            else "the working directory (poster_root=None)"
        )
        return (
            f" Relative paths are resolved against {where}: set poster_root= to "
            "the posters' folder."
        )

    def _problem(self, path: str) -> str | None:
        """Why ``path`` is not a decodable image, or None if it is.

        The file is decoded once (at reduced scale where the format allows), so a
        truncated file is caught here and not in the middle of training; the
        result is remembered for the file's size and modification time.
        """
        if not os.path.exists(path):
            return "no such file"
        if os.path.isdir(path):
            return "it is a directory"
        stat = os.stat(path)
        if stat.st_size == 0:
            return "the file is empty"
        key = (path, stat.st_size, stat.st_mtime_ns, self.image_size, self.max_pixels)
        if key not in _CHECKED:
            try:
                self._open_checked(path, decode=True)
                _CHECKED[key] = None
            except PosterError as exc:
                _CHECKED[key] = str(exc)
        return _CHECKED[key]

    def _open_checked(self, path: str, *, decode: bool) -> Image.Image | None:
        """Open ``path`` refusing oversized images; with ``decode``, decode it at
        reduced scale and return None. Raises :class:`PosterError` with the reason.
        """
        try:
            with warnings.catch_warnings():
                # our own pixel limit applies below; PIL's warning would be noise
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                image = Image.open(path)
            width, height = image.size
            if width * height > self.max_pixels:
                image.close()
                raise PosterError(
                    f"the image is {width}x{height} pixels, more than max_pixels="
                    f"{self.max_pixels} (refused as a possible decompression bomb)"
                )
            if not decode:
                return image
            with image:
                size = int(self.image_size)
                image.draft("RGB", (size, size))
                image.load()
            return None
        except Image.DecompressionBombError as exc:
            raise PosterError(
                f"refused as a possible decompression bomb ({exc})"
            ) from exc
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
            raise PosterError(f"not a readable image ({exc})") from exc

    def transform(self, X):
        """Return the absolute poster paths, ``None`` where a poster is missing.

        Raises
        ------
        PosterError
            With ``poster_errors="raise"``, for the first unreadable poster (row
            and path).
        """
        check_is_fitted(self)
        values = self._check_column(X, reset=False)
        index = X.index if isinstance(X, pd.DataFrame | pd.Series) else None
        paths = np.empty(len(values), dtype=object)
        bad = []
        rows = progress_bar(
            values,
            desc="checking posters",
            unit="row",
            leave=False,
            disable=not self.progress or len(values) < 1000,
            delay=_PROGRESS_DELAY_S,
        )
        for i, value in enumerate(rows):
            if isinstance(value, dict) and value.get("bytes") is None:
                value = value.get("path")  # a Hugging Face image kept as its file
            if is_missing(value):
                continue
            if isinstance(value, str) and URL_SCHEME.match(value):
                path, problem = value, _URL_PROBLEM
            elif isinstance(value, str | os.PathLike):
                path = self.resolve(value)
                problem = self._problem(path)
            elif held_image(value):  # written to a file of this process
                try:
                    path = held_image_file(value)
                except (ValueError, OSError) as exc:
                    path, problem = None, f"image data that cannot be read: {exc}"
                else:
                    problem = self._problem(path)
            else:
                path, problem = (
                    None,
                    f"not a path but a value of type {type(value).__name__}",
                )
            if problem is None:
                paths[i] = path
                continue
            # an image held in the cell is named by its type, not its file
            shown = (
                path
                if isinstance(value, str | os.PathLike)
                else f"<{type(value).__name__}>"
            )
            if self.poster_errors == "raise":
                row = index[i] if index is not None else i
                raise PosterError(
                    f"Row {row!r}: poster {shown!r}: {problem}."
                    + self._root_hint(value, problem)
                )
            bad.append((shown, problem, self._root_hint(value, problem)))
        if bad:
            hint = next((h for *_, h in bad if h), "")
            warn_user(
                f"{len(bad)} poster(s) could not be read and are treated as missing "
                f"(first: {bad[0][0]!r}: {bad[0][1]}).{hint} Pass "
                "poster_errors='raise' to stop on them instead.",
                DataWarning,
            )
        return paths.reshape(-1, 1)

    def get_feature_names_out(self, input_features=None):
        """One output column: ``path``."""
        check_is_fitted(self)
        return np.asarray(["path"], dtype=object)

    def decode(self, path) -> np.ndarray | None:
        """Decode one poster into an ``(image_size, image_size, 3)`` uint8 array.

        The image is turned upright as its EXIF orientation tag says (as photo
        viewers do), then made RGB and resized.

        Returns None for a missing poster (``path`` None) and, with
        ``poster_errors="warn"``, for a file that fails to decode.
        """
        if is_missing(path):
            return None
        size = int(self.image_size)
        try:
            with self._open_checked(path, decode=False) as image:
                image.draft("RGB", (size, size))
                # a photo's EXIF orientation says which side is up
                image = ImageOps.exif_transpose(image)
                image = _to_rgb(image).resize((size, size), Image.BILINEAR)
                return np.array(image, dtype=np.uint8)
        except (PosterError, OSError, ValueError, SyntaxError) as exc:
            if self.poster_errors == "raise":
                raise PosterError(f"Poster {path!r} cannot be decoded: {exc}") from exc
            return None

    def normalize(self, pixels: np.ndarray) -> np.ndarray:
        """uint8 ``(..., s, s, 3)`` pixels to normalised float32 ``(..., 3, s, s)``."""
        scale = np.float32(1 / 255)
        mean = np.asarray(self.mean, dtype=np.float32)
        std = np.asarray(self.std, dtype=np.float32)
        values = (pixels.astype(np.float32) * scale - mean) / std
        return np.ascontiguousarray(np.moveaxis(values, -1, -3))

    def load(self, path) -> np.ndarray | None:
        """Decode one poster into a normalised ``(3, image_size, image_size)`` float32
        array, or None where :meth:`decode` gives None."""
        pixels = self.decode(path)
        return None if pixels is None else self.normalize(pixels)

    def load_batch(self, paths) -> tuple[np.ndarray, np.ndarray]:
        """Decode several posters at once (for small batches).

        Returns
        -------
        images : ndarray of shape (n, 3, image_size, image_size), float32
            Zeros where a poster is missing or unreadable.
        has_image : ndarray of shape (n,), float32
            1.0 where a poster was decoded, else 0.0.
        """
        size = int(self.image_size)
        images = np.zeros((len(paths), 3, size, size), dtype=np.float32)
        has_image = np.zeros(len(paths), dtype=np.float32)
        for i, path in enumerate(paths):
            image = self.load(path)
            if image is not None:
                images[i], has_image[i] = image, 1.0
        return images, has_image

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.allow_nan = True
        tags.input_tags.two_d_array = True
        return tags


def poster_loader_for(backbone, *, image_size=None, **params) -> PosterLoader:
    """A :class:`PosterLoader` that gives ``backbone`` the inputs it declares.

    Images are resized to ``image_size``, or to the backbone's ``input_size`` when
    None, and normalised with its ``mean`` and ``std`` (ImageNet's for a module
    that declares none). ``params`` are the loader's other parameters.
    """
    return PosterLoader(
        image_size=int(image_size or getattr(backbone, "input_size", 64)),
        mean=tuple(getattr(backbone, "mean", IMAGENET_MEAN)),
        std=tuple(getattr(backbone, "std", IMAGENET_STD)),
        **params,
    )


def decoded_batches(paths, loader: PosterLoader, batch_size: int, threads: int):
    """Yield ``(pixels, decoded)`` per batch of ``paths``, decoded ahead in threads.

    ``pixels`` is uint8 ``(b, s, s, 3)`` (zeros where a poster cannot be decoded)
    and ``decoded`` a bool array. At most ``threads + 1`` batches are in memory.
    PIL releases the GIL while decoding, so threads overlap the engine's work
    without the start-up and copying costs of worker processes (measured faster
    than DataLoader worker processes on a 2-core machine).
    """
    size = int(loader.image_size)

    def decode(chunk):
        pixels = np.zeros((len(chunk), size, size, 3), dtype=np.uint8)
        decoded = np.zeros(len(chunk), dtype=bool)
        for i, path in enumerate(chunk):
            image = loader.decode(path)
            if image is not None:
                pixels[i], decoded[i] = image, True
        return pixels, decoded

    chunks = (paths[i : i + batch_size] for i in range(0, len(paths), batch_size))
    if threads == 0:
        yield from map(decode, chunks)
        return
    with ThreadPoolExecutor(threads) as pool:
        pending: deque = deque()
        for chunk in chunks:
            pending.append(pool.submit(decode, chunk))
            if len(pending) > threads:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
