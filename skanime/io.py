"""Secure persistence: ``save(model, path)`` and ``load(path, trusted=...)``.

Either takes a path or a binary file object (``open(path, "wb")``,
``io.BytesIO()``, an ``fsspec`` file): a file object is written or read from
its current position, as ``joblib`` and ``skops`` do.

A pickle (``joblib.dump``) runs arbitrary code when it is loaded, so a model from a
stranger must not be unpickled. :func:`save` writes a zip archive instead:

* ``skanime.json``: the skanime version and file format that wrote it, and the
  versions of scikit-learn, skorch and torch;
* ``model.skops``: the model in `skops <https://skops.readthedocs.io>`_ format, in
  which every object is rebuilt from a declared type and :func:`load` refuses any
  type that is not trusted. The network's weights are in it as ``torch.save``
  bytes, which skanime reads with ``torch.load(weights_only=True)``, never with a
  general unpickler.

:func:`load` trusts the types that skanime's own models are made of
(:data:`TRUSTED_TYPES`) and anything skops trusts by default (scikit-learn and
numpy). Any other type must be listed by the caller in ``trusted=`` after reading
it: ``skanime.io.get_untrusted_types(path)`` lists them.

:func:`load` is bounded: before decompressing anything it reads the sizes the
archive declares (for the file and for the skops archive inside it) and refuses,
with :class:`IncompatibleModelError`, a file that declares more than
:data:`MAX_BYTES` (2 GiB; ``max_bytes=`` raises it) or a member over 1 MiB that
expands more than :data:`MAX_COMPRESSION_RATIO` (100) times. Any malformed file
(not a zip, a missing or garbage member, metadata of the wrong type) is an
:class:`IncompatibleModelError` too.
"""

from __future__ import annotations

import io
import json
import os
import sys
import zipfile

import skops.io as sio
from skops.io.exceptions import UntrustedTypesFoundException

from ._atomic import atomic_path
from ._folder_hint import MODEL_SUFFIXES, folder_hint
from ._saved_weights import arrays_for_skops
from ._version import PERSISTENCE_FORMAT, __version__
from .exceptions import IncompatibleModelError, SkanimeError

__all__ = [
    "FORMAT_VERSION",
    "IncompatibleModelError",
    "MAX_BYTES",
    "MAX_COMPRESSION_RATIO",
    "TRUSTED_TYPES",
    "UntrustedTypesError",
    "get_untrusted_types",
    "load",
    "save",
]

#: Version of the file layout and of the objects' saved state; a file of another
#: format version is refused with :class:`IncompatibleModelError`.
FORMAT_VERSION = PERSISTENCE_FORMAT

_META, _MODEL = "skanime.json", "model.skops"

#: The most bytes :func:`load` reads from a file (the declared size of all its
#: members, and of the members of the model inside): 2 GiB. A larger file is
#: refused before anything is decompressed; pass ``max_bytes=`` to raise it.
MAX_BYTES = 2 * 1024**3
#: The most a member over 1 MiB may expand (declared size over compressed size);
#: more is refused as a possible zip bomb. Model weights compress about 1.1-fold.
MAX_COMPRESSION_RATIO = 100
_RATIO_FREE_BYTES = 1024**2

#: Types skanime's models are made of, which it vouches for: loading them builds
#: the object from its saved attributes and, for networks, reads tensors with
#: ``torch.load(weights_only=True)``. Classes such as ``torch.optim.adam.Adam``
#: appear as parameters (a reference to the class), not as pickled instances.
TRUSTED_TYPES = (
    "builtins.print",
    "functools.partial",
    "numpy.dtype",
    "scipy.sparse._csr.csr_matrix",
    "skanime._embedding.PosterEmbedder",
    "skanime._estimator.HybridAnimeRegressor",
    "skanime._franchise.FranchisePrior",
    "skanime._label_prior.LabelTargetEncoder",
    "skanime._member_folds.MemberFolds",
    "skanime._neighbors.TitleNeighborPrior",
    "skanime.intervals.ConformalRegressor",
    "skanime._module.HybridModule",
    "skanime._net.HybridNet",
    "skanime._net.InputShapeSetter",
    "skanime._net.mean_absolute_error",
    "skanime._net.mean_absolute_percentage_error",
    "skanime._pack.PackInputs",
    "skanime._poster_features.EmbeddingReducer",
    "skanime._poster_features.PosterPrior",
    "skanime._posters.PosterLoader",
    "skanime._print_log.TerminalPrintLog",
    "skanime._roles.ColumnRoles",
    "skanime._schedule.PlateauSchedule",
    "skanime._roles.TableCleaner",
    "skanime._tabular.MultiLabelEncoder",
    "skanime._tabular.NumericEncoder",
    "skanime._tabular.clean_categories",
    "skanime._text.TitleEncoder",
    "skanime._text.TitleWords",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.model_selection._split.KFold",
    "skorch.callbacks.logging.EpochTimer",
    "skorch.callbacks.logging.PrintLog",
    "skorch.callbacks.scoring.EpochScoring",
    "skorch.callbacks.scoring.PassthroughScoring",
    "skorch.callbacks.training.EarlyStopping",
    "skorch.dataset.Dataset",
    "skorch.dataset.ValidSplit",
    "skorch.history.History",
    "skorch.setter.optimizer_setter",
    "skorch.utils._indexing_dict",
    "skorch.utils._indexing_ndframe",
    "skorch.utils._indexing_other",
    "skorch.utils.to_numpy",
    "torch.nn.modules.loss.HuberLoss",
    "torch.nn.modules.loss.MSELoss",
    "torch.optim.adam.Adam",
    "torch.optim.lr_scheduler.ReduceLROnPlateau",
    "torch.utils.data.dataloader.DataLoader",
)


class UntrustedTypesError(SkanimeError, TypeError):
    """The file holds types that are not trusted; nothing was loaded."""


def _versions() -> dict:
    import sklearn
    import skorch
    import torch

    return {
        "skanime": __version__,
        "format": FORMAT_VERSION,
        "scikit-learn": sklearn.__version__,
        "skorch": skorch.__version__,
        "torch": torch.__version__,
    }


def _named(name: str) -> bool:
    """Whether ``"module.attr"`` (as skops names a type or function) is found
    again by that name, as loading looks it up: a lambda or a function defined
    inside another is not. A module not imported here is given the benefit."""
    module, _, attr = name.rpartition(".")
    return module not in sys.modules or hasattr(sys.modules[module], attr)


def _is_stream(file) -> bool:
    """Whether ``file`` is a file object rather than a path."""
    return hasattr(file, "read") or hasattr(file, "write")


def _where(file) -> str:
    """How messages name ``file``: its path, or the file object's name."""
    if not _is_stream(file):
        return repr(os.fspath(file))
    name = getattr(file, "name", None)
    if isinstance(name, str | os.PathLike):
        return repr(os.fspath(name))
    return f"the {type(file).__name__} given"


def _check_place(file, call: str) -> None:
    """Refuse a ``file`` that is neither a path nor a file object, naming what
    it is: most often a model given where its file belongs."""
    if _is_stream(file) or isinstance(file, str | bytes | os.PathLike):
        return
    swapped = " The model comes first: save(model, path)." if call == "save" else ""
    raise TypeError(
        f"skanime.io.{call} takes a file name or a binary file object; got a "
        f"{type(file).__name__}.{swapped}"
    )


def _expanded(file):
    """``file`` with a leading ``~`` expanded to the home folder (as pandas'
    readers and writers do), where it is a path; anything else as it is."""
    if isinstance(file, str | bytes | os.PathLike) and not _is_stream(file):
        return os.path.expanduser(file)
    return file


def _check_binary(file, mode: str) -> None:
    if isinstance(file, io.TextIOBase):
        raise TypeError(
            f"{_where(file)} is open in text mode; a model file is binary: open "
            f"it with mode {mode!r}."
        )


def save(model, path, *, optimizer_state: bool = True) -> None:
    """Save ``model`` to ``path`` (a skanime model archive), atomically.

    The file is written next to ``path`` and moved over it only when complete: a
    failure leaves any previous file intact and nothing half-written behind.

    Parameters
    ----------
    model : object
        A fitted model (or any object made of trusted types).
    path : str, path-like or binary file object
        Where to write (``~`` expanded to the home folder). A file object
        (``io.BytesIO()``, ``open(p, "wb")``) gets the whole archive in one
        ``write`` once it is complete, from its current position; it is not
        closed.
    optimizer_state : bool, default=True
        Whether to keep the networks' optimizer state (Adam's running
        moments, twice the size of the networks' weights: 34 of the 73 MB of
        a model that ``skanime train`` fits on MyAnimeList's table). A model
        saved without it predicts the same from a smaller file that loads
        sooner; training its networks further (``model.net_.partial_fit``)
        starts the optimizer afresh. The model itself is not changed.

    Examples
    --------
    >>> import io
    >>> import skanime.io
    >>> from sklearn.dummy import DummyRegressor
    >>> buffer = io.BytesIO()
    >>> skanime.io.save(DummyRegressor().fit([[0], [1]], [2, 4]), buffer)
    >>> _ = buffer.seek(0)
    >>> skanime.io.load(buffer).predict([[5]])
    array([3.])

    Raises
    ------
    TypeError
        If the model holds an object skops cannot represent, such as an
        ``nn.Module`` instance passed as ``backbone=`` (save those models with
        joblib, for trusted use only, or register the backbone by name), or a
        function no file can name (a lambda as ``numeric_columns=``). Nothing
        is written. Also if ``path`` is a file object open in text mode, or
        ``optimizer_state`` is not True or False.
    """
    if not isinstance(optimizer_state, bool):
        raise TypeError(
            f"optimizer_state must be True or False; got {optimizer_state!r}."
        )
    _check_place(path, "save")
    path = _expanded(path)
    if _is_stream(path):
        _check_binary(path, "wb")
    from ._net import optimizer_state_saved

    try:
        # a backbone two embedders share is saved once
        with arrays_for_skops(), optimizer_state_saved(optimizer_state):
            body = sio.dumps(model)
    except Exception as exc:
        raise TypeError(
            f"This model cannot be saved securely: {exc}. A backbone given as an "
            "nn.Module instance cannot be; register it by name "
            "(skanime.backbones.register_backbone) or use joblib for trusted use."
        ) from exc
    unloadable = sorted(
        name for name in sio.get_untrusted_types(data=body) if not _named(name)
    )
    if unloadable:
        raise TypeError(
            f"This model cannot be saved securely: it holds {unloadable}, a lambda "
            "or a function defined inside another, which no file can name for "
            "loading. Use a function defined at the top of a module, a list of "
            "columns, or sklearn.compose.make_column_selector. Nothing was written."
        )
    if _is_stream(path):  # complete in memory first: one write, or none
        buffer = io.BytesIO()
        _write_archive(buffer, body)
        path.write(buffer.getvalue())
        return
    with atomic_path(path) as temporary:
        _write_archive(temporary, body)


def _write_archive(file, body: bytes) -> None:
    with zipfile.ZipFile(file, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(_META, json.dumps(_versions(), indent=2))
        archive.writestr(_MODEL, body)


def _check_members(archive: zipfile.ZipFile, where: str, max_bytes: int) -> None:
    """Refuse an archive whose members are too large or too compressed to read.

    The sizes are those the archive declares, which bound what reading it can
    produce (``zipfile`` stops at the declared size), so nothing is decompressed.
    """
    total = 0
    for info in archive.infolist():
        total += info.file_size
        if total > max_bytes:
            raise IncompatibleModelError(
                f"{where} declares {total} bytes or more of content, over the "
                f"limit of max_bytes={max_bytes}; it is not read (pass a larger "
                "max_bytes only for a file you trust)."
            )
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > _RATIO_FREE_BYTES and ratio > MAX_COMPRESSION_RATIO:
            raise IncompatibleModelError(
                f"{where}: member {info.filename!r} expands {ratio:.0f}-fold, over "
                f"the limit of {MAX_COMPRESSION_RATIO} (a possible zip bomb); it is "
                "not read."
            )


def _pickle_hint(start: bytes) -> str:
    """Advice for a file that starts as a pickle does (joblib.dump, pickle.dump)."""
    if len(start) == 2 and start[0] == 0x80 and 2 <= start[1] <= 5:
        return (
            " It is a pickle (joblib.dump's format): joblib.load reads it, which"
            " runs any code the file holds, so only for a file you trust."
        )
    return ""


def _first_bytes(path) -> bytes:
    try:
        with open(path, "rb") as file:
            return file.read(2)
    except OSError:
        return b""


def _read_stream(file, where: str, max_bytes: int) -> bytes:
    """Up to ``max_bytes`` of a binary file object, or an error saying why not."""
    _check_binary(file, "rb")
    data = file.read(max_bytes + 1)
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(
            f"{where} gave {type(data).__name__} where bytes were expected; open "
            "the file in binary mode ('rb')."
        )
    if len(data) > max_bytes:
        raise IncompatibleModelError(
            f"{where} holds more than max_bytes={max_bytes} bytes; it is not read "
            "(pass a larger max_bytes only for a file you trust)."
        )
    return bytes(data)


def _read(path, max_bytes: int = MAX_BYTES, call: str = "load") -> tuple[dict, bytes]:
    _check_place(path, call)
    where = _where(path)
    if _is_stream(path):
        data = _read_stream(path, where, max_bytes)
        source, start = io.BytesIO(data), data[:2]
    else:
        if not os.path.exists(path):
            raise FileNotFoundError(f"No such model file: {where}")
        if os.path.isdir(path):
            raise IncompatibleModelError(
                f"{where} is a folder; name the model file in it."
                + folder_hint(path, MODEL_SUFFIXES, "model file")
            )
        source, start = path, None
    try:
        with zipfile.ZipFile(source) as archive:
            _check_members(archive, where, max_bytes)
            meta = json.loads(archive.read(_META))
            body = archive.read(_MODEL)
        with zipfile.ZipFile(io.BytesIO(body)) as inner:  # skops's own zip
            _check_members(inner, f"{where} ({_MODEL})", max_bytes)
    except IncompatibleModelError:
        raise
    except (zipfile.BadZipFile, KeyError, ValueError, EOFError, OSError) as exc:
        if start is None:
            start = _first_bytes(path)
        raise IncompatibleModelError(
            f"{where} is not a model saved by skanime.io.save "
            f"({type(exc).__name__}: {exc}).{_pickle_hint(start)}"
        ) from exc
    except NotImplementedError as exc:  # an unsupported compression method
        raise IncompatibleModelError(
            f"{where} is not a model saved by skanime.io.save ({exc})."
        ) from exc
    if not isinstance(meta, dict):
        raise IncompatibleModelError(
            f"{where} is not a model saved by skanime.io.save: its {_META} is not "
            f"a JSON object but {json.dumps(meta)[:40]!r}."
        )
    if meta.get("format") != FORMAT_VERSION:
        raise IncompatibleModelError(
            f"{where} was saved by skanime {meta.get('skanime')} in file "
            f"format {meta.get('format')}; this skanime {__version__} reads format "
            f"{FORMAT_VERSION}. Install skanime=={meta.get('skanime')} to load it, "
            "or train the model again."
        )
    return meta, body


def _untrusted(path, body: bytes) -> set[str]:
    try:
        return set(sio.get_untrusted_types(data=body))
    except Exception as exc:  # skops raises many kinds on a malformed file
        raise IncompatibleModelError(
            f"{_where(path)} is not a model saved by skanime.io.save: its "
            f"{_MODEL} cannot be read ({type(exc).__name__}: {exc})."
        ) from exc


def get_untrusted_types(path, *, max_bytes: int = MAX_BYTES) -> list[str]:
    """The types in the file that :func:`load` would refuse without ``trusted=``.

    ``path`` is a path or a binary file object, read from its current position
    (seek back before passing it to :func:`load`).

    Examples
    --------
    >>> import io
    >>> import skanime.io
    >>> from sklearn.dummy import DummyRegressor
    >>> saved = io.BytesIO()
    >>> skanime.io.save(DummyRegressor().fit([[0], [1]], [2, 4]), saved)
    >>> skanime.io.get_untrusted_types(io.BytesIO(saved.getvalue()))
    []

    An empty list: :func:`load` trusts every type in the file.
    """
    path = _expanded(path)
    _, body = _read(path, max_bytes, "get_untrusted_types")
    return sorted(_untrusted(path, body) - set(TRUSTED_TYPES))


def load(path, *, trusted=None, max_bytes: int = MAX_BYTES):
    """Load a model saved with :func:`save`, refusing untrusted types.

    Parameters
    ----------
    path : str, path-like or binary file object
        The file (``~`` expanded to the home folder); a file object
        (``open(p, "rb")``, ``io.BytesIO``) is read from its current position,
        at most ``max_bytes`` of it, and not closed.
    trusted : list of str (or one str), default=None
        Further types to trust (as ``"module.Name"``), beyond skanime's
        :data:`TRUSTED_TYPES` and what skops trusts by default. Read
        :func:`get_untrusted_types` first, and trust only what you recognise.
    max_bytes : int, default=MAX_BYTES
        The most bytes the file may declare (2 GiB by default); a larger file is
        refused without being decompressed.

    Raises
    ------
    FileNotFoundError
        If there is no file at ``path``.
    TypeError
        If ``trusted`` is True or False (it takes type names), or ``path`` is a
        file object open in text mode.
    UntrustedTypesError
        Listing the types that are not trusted; nothing is loaded.
    IncompatibleModelError
        If the file is not a skanime model (not a zip, a member missing, garbage,
        or of the wrong type), is larger than ``max_bytes`` or expands more than
        :data:`MAX_COMPRESSION_RATIO`-fold (checked from the sizes the archive
        declares, before anything is decompressed), or comes from an
        incompatible version.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> import skanime.io
    >>> from sklearn.dummy import DummyRegressor
    >>> tmp = tempfile.TemporaryDirectory()
    >>> path = pathlib.Path(tmp.name) / "model.skanime"
    >>> skanime.io.save(DummyRegressor().fit([[0], [1]], [2, 4]), path)
    >>> skanime.io.load(path).predict([[7]])
    array([3.])
    >>> tmp.cleanup()
    """
    if isinstance(trusted, bool):  # skops's old trusted=True, which trusts anything
        raise TypeError(
            "trusted takes a list of type names, such as get_untrusted_types(path) "
            f"returns, not {trusted!r}: read that list and pass what you recognise."
        )
    path = _expanded(path)
    _, body = _read(path, max_bytes)
    extra = [trusted] if isinstance(trusted, str) else list(trusted or [])
    allowed = set(TRUSTED_TYPES) | set(extra)
    try:
        # skops checks every type of the file before it builds any object, so
        # the file is read once; listing the types first read it twice (a
        # quarter of the load of a default model)
        return sio.loads(body, trusted=sorted(allowed))
    except SkanimeError:
        raise
    except UntrustedTypesFoundException as exc:
        # skops's own words where its listing finds nothing further to name
        refused = sorted(_untrusted(path, body) - allowed) or str(exc)
        raise UntrustedTypesError(
            f"{_where(path)} holds types that are not trusted: {refused}. "
            "Nothing was loaded. If you know where the file comes from and what these "
            "types do, pass them in trusted=[...]."
        ) from None
    except Exception as exc:  # a malformed member: skops raises many kinds
        raise IncompatibleModelError(
            f"{_where(path)} is not a model saved by skanime.io.save: its "
            f"{_MODEL} cannot be read ({type(exc).__name__}: {exc})."
        ) from exc
