"""skanime: predict an anime's MyAnimeList score from its metadata and poster.

A scikit-learn estimator over a hybrid PyTorch network (an MLP for the table, a CNN
for the poster), trained with skorch.

The public names are imported on first use (PEP 562), so that ``import skanime``
and the ``skanime`` command start without loading torch (``skanime --help``
answers at once); ``from skanime import HybridAnimeRegressor`` works as usual.
"""

from importlib import import_module as _import_module
from importlib.util import find_spec as _find_spec
from types import ModuleType as _ModuleType

from ._version import __version__

_missing = [name for name in ("torch", "skorch") if _find_spec(name) is None]
if _missing:  # pragma: no cover - depends on the environment
    raise ImportError(
        f"skanime needs {' and '.join(_missing)}: pip install skanime (which pins "
        "torch==2.14.1 and torchvision==0.29.1)."
    )
del _missing

#: Public name -> the module that defines it.
_PUBLIC = {
    "BOOSTERS": "._booster",
    "ColumnRoles": "._roles",
    "EmbeddingReducer": "._poster_features",
    "FranchisePrior": "._franchise",
    "HybridAnimeRegressor": "._estimator",
    "HybridDataset": "._dataset",
    "HybridModule": "._module",
    "MemberFolds": "._member_folds",
    "HybridNet": "._net",
    "LabelTargetEncoder": "._label_prior",
    "MultiLabelEncoder": "._tabular",
    "NumericEncoder": "._tabular",
    "PackInputs": "._pack",
    "PosterEmbedder": "._embedding",
    "PosterLoader": "._posters",
    "PosterPrior": "._poster_features",
    "TableCleaner": "._roles",
    "TitleEncoder": "._text",
    "TitleWords": "._text",
    "TitleNeighborPrior": "._neighbors",
    "clear_memory_cache": "._cache",
    "franchise_key": "._franchise",
    "infer_column_roles": "._roles",
    "is_sequel": "._text",
    "make_hybrid_pipeline": "._pipeline",
    "make_tabular_encoder": "._tabular",
}

__all__ = [*_PUBLIC, "__version__"]


def __getattr__(name: str):
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'skanime' has no attribute {name!r}")
    value = getattr(_import_module(module, __name__), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    # The public names, the submodules imported so far (``skanime.io``) and the
    # dunders; not the helpers this file imports for itself.
    shown = {*__all__}
    for name, value in globals().items():
        if name.startswith("__") or (
            isinstance(value, _ModuleType) and not name.startswith("_")
        ):
            shown.add(name)
    return sorted(shown)
