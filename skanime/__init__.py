"""skanime: predict an anime's MyAnimeList score from its metadata and poster.

A scikit-learn estimator over a hybrid PyTorch network (an MLP for the table, a CNN
for the poster), trained with skorch.
"""

try:
    import skorch  # noqa: F401
    import torch  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "skanime needs torch and skorch: pip install skanime (which pins "
        "torch==2.14.1 and torchvision==0.29.1)."
    ) from exc

from ._cache import clear_memory_cache
from ._dataset import HybridDataset
from ._embedding import PosterEmbedder
from ._estimator import HybridAnimeRegressor
from ._franchise import FranchisePrior, franchise_key
from ._module import HybridModule
from ._net import HybridNet
from ._posters import PosterLoader
from ._tabular import MultiLabelEncoder, NumericEncoder, make_tabular_encoder
from ._text import TitleEncoder, is_sequel
from ._version import __version__

__all__ = [
    "FranchisePrior",
    "HybridAnimeRegressor",
    "HybridDataset",
    "HybridModule",
    "HybridNet",
    "MultiLabelEncoder",
    "NumericEncoder",
    "PosterEmbedder",
    "PosterLoader",
    "TitleEncoder",
    "clear_memory_cache",
    "franchise_key",
    "is_sequel",
    "make_tabular_encoder",
    "__version__",
]
