"""Posters held in the poster column itself, rather than named by a path.

A frame from a Hugging Face image dataset, a Parquet file of image bytes or a
notebook that opened its posters with PIL holds each image in its cell: bytes,
a PIL image, an array of pixels, or a ``{"bytes": ..., "path": ...}`` dict.
Every reader of posters downstream (the checks, the embedding cache, the
DataLoader workers) reads files, so :func:`held_image_file` writes each such
image once to a folder of this process, named by its content, and returns the
file's path. The folder is removed when the process exits; the same image
always gets the same file, so the embedding cache (keyed by content) finds it
again in a later process.
"""

from __future__ import annotations

import atexit
import hashlib
import io
import os
import shutil
import tempfile
import threading

import numpy as np
from PIL import Image

from ._atomic import atomic_path

__all__ = ["held_image", "held_image_file"]

_FOLDER: list[str] = []
_LOCK = threading.Lock()


def held_image(value) -> bool:
    """Whether a poster cell holds an image itself (bytes, a PIL image, an
    array of pixels, a Hugging Face image's dict) rather than its path.

    >>> held_image(b"..."), held_image({"bytes": b"...", "path": None})
    (True, True)
    >>> held_image("posters/1.jpg"), held_image(np.array(["a", "b"]))
    (False, False)
    """
    if isinstance(value, np.ndarray):  # pixels; a 1-D array is a list of labels
        return value.ndim >= 2
    if isinstance(value, dict):
        return "bytes" in value
    return isinstance(value, bytes | bytearray | memoryview | Image.Image)


def _encoded(value) -> bytes:
    """The image file a cell holds (its bytes as they are), or one encoded as
    PNG from a PIL image or an array of pixels. ``ValueError`` says why not."""
    if isinstance(value, dict):
        value = value["bytes"]
        if value is None:
            raise ValueError("an image dict whose 'bytes' are None")
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    if isinstance(value, np.ndarray):
        if value.dtype != np.uint8 or value.ndim not in (2, 3):
            raise ValueError(
                f"an array of shape {value.shape} and dtype {value.dtype}; pixels "
                "are read from uint8 arrays of shape (height, width) or (height, "
                "width, channels)"
            )
        if value.ndim == 3 and value.shape[2] == 1:
            value = value[:, :, 0]
        try:
            value = Image.fromarray(value)
        except (TypeError, ValueError) as exc:  # 2 channels, say
            raise ValueError(f"an array of shape {value.shape} ({exc})") from None
    buffer = io.BytesIO()
    try:
        value.save(buffer, format="PNG")
    except OSError:  # a mode PNG cannot store (CMYK): its RGB version
        buffer = io.BytesIO()
        value.convert("RGB").save(buffer, format="PNG")
    return buffer.getvalue()


def _folder() -> str:
    with _LOCK:
        if not _FOLDER:
            folder = tempfile.mkdtemp(prefix="skanime_held_posters_")
            atexit.register(shutil.rmtree, folder, ignore_errors=True)
            _FOLDER.append(folder)
        return _FOLDER[0]


def held_image_file(value, folder: str | os.PathLike | None = None) -> str:
    """The path of a file holding the image of a poster cell (see the module),
    written atomically the first time this process meets that image; in
    ``folder`` where given (``skanime posters --dest``), named by its content
    with the suffix of its format (``.jpg``, ``.png``, ``.webp``, ``.gif``;
    ``.img`` otherwise).

    Raises
    ------
    ValueError
        If the cell cannot be made a file (an array that is not of uint8
        pixels, a dict without bytes); the message says why.
    """
    data = _encoded(value)
    name = hashlib.blake2b(data, digest_size=16).hexdigest()
    if folder is None:
        path = os.path.join(_folder(), f"{name}.img")
    else:
        os.makedirs(folder, exist_ok=True)
        path = os.path.join(folder, name + _suffix(data))
    if not os.path.exists(path):
        with atomic_path(path) as temporary, open(temporary, "wb") as file:
            file.write(data)
    return path


#: The first bytes of the image formats a poster file is named by.
_SIGNATURES = ((b"\xff\xd8\xff", ".jpg"), (b"\x89PNG", ".png"), (b"GIF8", ".gif"))


def _suffix(data: bytes) -> str:
    r"""The file suffix of the image ``data`` holds, by its first bytes.

    >>> _suffix(b"\xff\xd8\xff\xe0..."), _suffix(b"RIFF....WEBPVP8 "), _suffix(b"?")
    ('.jpg', '.webp', '.img')
    """
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return ".webp"
    for signature, suffix in _SIGNATURES:
        if data.startswith(signature):
            return suffix
    return ".img"
