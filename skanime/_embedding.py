"""``PosterEmbedder``: posters to the cached embeddings of a frozen backbone.

With a frozen backbone the network never changes a poster's features, so they are
computed once: :class:`PosterEmbedder` decodes the posters in batches (ahead, in
threads), runs the backbone over them with the fastest engine available (ONNX
Runtime or PyTorch under ``inference_mode``), and keeps each embedding in the cache
of :mod:`skanime._cache`, keyed by the file's content and the backbone. A second
``fit``, every fold of ``cross_val_score`` and every candidate of ``GridSearchCV``
then reads the embeddings instead of decoding a single image.
"""

from __future__ import annotations

import os
import threading
from numbers import Integral

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted
from torch import nn

from ._cache import EmbeddingCache, backbone_fingerprint, file_digest
from ._docs import substitute
from ._inference import make_engine
from ._posters import decoded_batches, poster_loader_for
from ._progress import progress_bar
from ._saved_weights import restored_backbone, saved_weights
from ._utils import derive_seed
from ._validation import device_on_load, resolve_device
from ._warn import warn_user
from .backbones import (
    backbone_name,
    is_pretrained,
    resolve_backbone,
    restoring_weights,
)
from .exceptions import CacheWarning

__all__ = ["PosterEmbedder"]


#: Frozen pretrained backbones built in this process, by (name, input size).
_SHARED: dict[tuple[str, int | None], nn.Module] = {}
_SHARED_LOCK = threading.Lock()


def _frozen_backbone(backbone, image_size, seed: int | None) -> nn.Module:
    """The frozen backbone for ``backbone``, in eval mode without gradients.

    A *pretrained* backbone named in the registry has the same weights every time,
    so it is built once per process and shared, read-only, by every embedder (the
    folds and candidates of a search then skip rebuilding it). Any other backbone
    is built afresh: its random weights are drawn with ``seed`` (from torch's
    global random state when None).
    """
    if isinstance(backbone, str):
        name = backbone_name(backbone)
        if is_pretrained(name):
            with _SHARED_LOCK:
                key = (name, image_size)
                if key not in _SHARED:
                    # not from the caller's random stream: whether the backbone
                    # was built before must not change what a seed gives
                    with torch.random.fork_rng(devices=[]):
                        built = resolve_backbone(name, input_size=image_size)
                    _SHARED[key] = built.eval().requires_grad_(False)
                return _SHARED[key]
    if seed is None:
        built = resolve_backbone(backbone, input_size=image_size)
    else:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            built = resolve_backbone(backbone, input_size=image_size)
    return built.eval().requires_grad_(False)


@substitute
class PosterEmbedder(TransformerMixin, BaseEstimator):
    """Embed a column of poster paths with a frozen image backbone, with a cache.

    ``transform`` returns ``(n, 1 + d)`` float32: a ``has_image`` flag (0 for a
    missing or unreadable poster, whose embedding is all zeros) and the ``d``
    features of the backbone. Paths are resolved and checked by a
    :class:`PosterLoader` with the same ``poster_root`` and ``poster_errors``.

    Parameters
    ----------
    backbone : str or nn.Module, default="auto"
        A registered backbone name, ``"auto"`` (:func:`skanime.backbones.
        default_backbone`: the pretrained ``efficientnet_lite0`` when installed),
        or a module with ``out_features`` (copied, never modified).
    image_size : int or None, default=None
        Image side; None takes the backbone's ``input_size``.
    %(poster_root)s
    %(poster_errors)s
    %(engine)s
    batch_size : int, default=32
        Posters decoded and embedded at a time: memory holds one batch of images.
    decode_threads : int, default=1
        Threads that decode the next batches while the current one is embedded;
        0 decodes in turn with embedding.
    cache : bool, default=True
        Keep embeddings in the process-wide memory cache.
    %(cache_dir)s
    device : str, default="cpu"
        Torch device that runs the backbone, e.g. "cuda"; "auto" takes "cuda"
        where torch sees a GPU, else "cpu".
    progress : bool, default=False
        Show a progress bar while embedding 256 posters or more.
    random_state : int, RandomState instance or None, default=None
        Draws the weights of a backbone that is not pretrained (a frozen random
        CNN): an int gives the same weights, hence the same embeddings and cache
        entries, in any process. None draws from torch's global random state.

    Attributes
    ----------
    backbone_ : nn.Module
        The frozen backbone, in eval mode. A pretrained backbone given by name is
        shared (read-only) by the embedders of this process, as is one loaded
        from a file by the loaded embedders with equal weights.
    poster_loader_ : PosterLoader
        Resolves, checks and decodes the posters (size and normalisation of the
        backbone).
    fingerprint_ : str
        Identifies the backbone's weights and inputs in the cache.
    embedding_dim_ : int
    n_features_in_ : int

    Examples
    --------
    >>> from skanime import PosterEmbedder
    >>> from skanime.datasets import make_anime
    >>> df = make_anime(8, random_state=0)
    >>> embedder = PosterEmbedder(backbone="simple_cnn", image_size=16)
    >>> features = embedder.fit_transform(df[["poster"]])
    >>> features.shape  # has_image, then the backbone's 64 features
    (8, 65)
    >>> embedder.get_feature_names_out()[:3].tolist()
    ['has_image', 'emb_0', 'emb_1']
    """

    _parameter_constraints = {
        "backbone": [str, nn.Module],
        "image_size": [Interval(Integral, 8, None, closed="left"), None],
        "poster_root": [str, os.PathLike, None],
        "poster_errors": [StrOptions({"warn", "raise"})],
        "engine": [StrOptions({"auto", "torch", "onnx"})],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "decode_threads": [Interval(Integral, 0, None, closed="left")],
        "cache": ["boolean"],
        "cache_dir": [str, os.PathLike, None],
        "device": [str, torch.device],
        "progress": ["boolean"],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        backbone="auto",
        *,
        image_size=None,
        poster_root=None,
        poster_errors="warn",
        engine="auto",
        batch_size=32,
        decode_threads=1,
        cache=True,
        cache_dir=None,
        device="cpu",
        progress=False,
        random_state=None,
    ):
        self.backbone = backbone
        self.image_size = image_size
        self.poster_root = poster_root
        self.poster_errors = poster_errors
        self.engine = engine
        self.batch_size = batch_size
        self.decode_threads = decode_threads
        self.cache = cache
        self.cache_dir = cache_dir
        self.device = device
        self.progress = progress
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Build the frozen backbone and its poster loader; no poster is read."""
        seed = derive_seed(self.random_state)
        backbone = _frozen_backbone(self.backbone, self.image_size, seed)
        loader = poster_loader_for(
            backbone,
            image_size=self.image_size,
            poster_root=self.poster_root,
            poster_errors=self.poster_errors,
            progress=self.progress,
        )
        size = loader.image_size
        # an array of paths whatever sklearn.set_config(transform_output=...)
        self.poster_loader_ = loader.set_output(transform="default").fit(X)
        self.backbone_ = backbone
        key = (size, tuple(loader.mean), tuple(loader.std))
        fingerprints = backbone.__dict__.setdefault("_skanime_fingerprints", {})
        if key not in fingerprints:  # memoised on a shared pretrained module
            fingerprints[key] = backbone_fingerprint(
                backbone, image_size=size, mean=loader.mean, std=loader.std
            )
        self.fingerprint_ = fingerprints[key]
        self.embedding_dim_ = int(backbone.out_features)
        self.n_features_in_ = 1
        if hasattr(self.poster_loader_, "feature_names_in_"):
            self.feature_names_in_ = self.poster_loader_.feature_names_in_
        return self

    def transform(self, X):
        """``(n, 1 + d)`` float32: ``has_image`` and the poster's embedding."""
        check_is_fitted(self)
        paths = self.poster_loader_.transform(X)[:, 0]
        return self.embed(paths)

    def embed(self, paths) -> np.ndarray:
        """Embeddings of resolved paths (None for a missing poster), with the cache."""
        check_is_fitted(self)
        out = np.zeros((len(paths), 1 + self.embedding_dim_), dtype=np.float32)
        store = EmbeddingCache(
            self.fingerprint_,
            self.cache_dir,
            use_memory=bool(self.cache),
            dim=self.embedding_dim_,
        )
        rows_of: dict[str, list[int]] = {}
        for i, path in enumerate(paths):
            if path is not None:
                rows_of.setdefault(file_digest(path), []).append(i)
        todo = []
        for digest, rows in rows_of.items():
            value = store.get(digest)
            if value is None:
                todo.append((digest, paths[rows[0]]))
            else:
                out[rows, 0], out[rows, 1:] = 1.0, value
        if todo:
            computed = self._compute([path for _, path in todo])
            fresh = []
            for (digest, _), value in zip(todo, computed, strict=True):
                if value is not None:
                    out[rows_of[digest], 0], out[rows_of[digest], 1:] = 1.0, value
                    fresh.append((digest, value))
            store.put_many(fresh)
        if (problems := store.problems()) is not None:
            problems = problems[0].upper() + problems[1:]
            warn_user(problems, CacheWarning)
        return out

    def _compute(self, paths) -> list[np.ndarray | None]:
        """Run the backbone over ``paths`` in batches; None where undecodable."""
        engine = make_engine(
            self.engine,
            self.backbone_,
            image_size=int(self.poster_loader_.image_size),
            mean=self.poster_loader_.mean,
            std=self.poster_loader_.std,
            fingerprint=self.fingerprint_,
            device=resolve_device(self.device),
        )
        batches = decoded_batches(
            paths,
            self.poster_loader_,
            self.batch_size,
            self.decode_threads if len(paths) > self.batch_size else 0,
        )
        results: list[np.ndarray | None] = []
        with progress_bar(
            total=len(paths),
            desc="embedding posters",
            unit="poster",
            leave=False,
            disable=not self.progress or len(paths) < 256,
        ) as bar:
            for pixels, decoded in batches:
                features = engine(pixels)
                results += [
                    f if ok else None for f, ok in zip(features, decoded, strict=True)
                ]
                bar.update(len(pixels))
        return results

    def __getstate__(self):
        """The state with ``backbone_`` as ``state_dict`` tensors (``torch.save``
        format, read back with ``weights_only=True``): no pickled module. Embedders
        sharing a backbone share the object, which a file then holds once."""
        state = dict(self.__dict__)
        backbone = state.pop("backbone_", None)
        if backbone is not None:
            state["_backbone_weights"] = saved_weights(backbone)
        return state

    def __setstate__(self, state):
        """Rebuild ``backbone_`` from ``backbone`` and load its weights."""
        state = dict(state)
        blob = state.pop("_backbone_weights", None)
        if "device" in state:  # fitted on a GPU, loaded where there is none
            state["device"] = device_on_load(state["device"], "PosterEmbedder")
        self.__dict__.update(state)
        if blob is None:
            return
        size = int(self.poster_loader_.image_size)

        def build():
            # initial weights are replaced: no pretrained ones are read
            with torch.random.fork_rng(devices=[]), restoring_weights():
                return resolve_backbone(self.backbone, input_size=size)

        # a module given as backbone= shares with none: equal weights in another
        # architecture must not share it
        key = (self.backbone, size) if isinstance(self.backbone, str) else None
        self.backbone_ = restored_backbone(blob, key, build)

    def get_feature_names_out(self, input_features=None):
        """``has_image``, then ``emb_0`` ... ``emb_{d-1}``."""
        check_is_fitted(self)
        names = ["has_image"] + [f"emb_{j}" for j in range(self.embedding_dim_)]
        return np.asarray(names, dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.allow_nan = True
        tags.input_tags.two_d_array = True
        tags.non_deterministic = False
        return tags
