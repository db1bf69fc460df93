"""A registry of named builders, extensible by other packages through entry points.

:mod:`skanime.backbones` (image networks) and :mod:`skanime.heads` (fusion heads)
are two instances. Built-ins register with :meth:`Registry.register`; other
packages add theirs through an entry-point group (each entry point names a module or
a callable; loading it registers the builders). Entry points are read lazily, on the
first lookup, and a plugin that fails to load is skipped with a warning.
"""

from __future__ import annotations

import difflib
import fnmatch
import inspect
import threading
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Generic, TypeVar

from ._warn import warn_user
from .exceptions import SkanimeError, SkanimeWarning

__all__ = ["PluginWarning", "Registry", "UnknownNameError"]

T = TypeVar("T")


class UnknownNameError(SkanimeError, KeyError):
    """No builder is registered under that name."""

    def __str__(self) -> str:  # KeyError would quote the whole message
        return str(self.args[0])


class PluginWarning(SkanimeWarning):
    """A plugin could not be loaded and was skipped."""


class Registry(Generic[T]):
    """Names to builders of ``T``, plus the plugins of one entry-point group.

    Parameters
    ----------
    kind : str
        What it holds, for messages ("backbone", "head").
    group : str
        The entry-point group plugins register through.
    error : type of UnknownNameError, default=UnknownNameError
        Raised for an unknown name.
    """

    def __init__(
        self, kind: str, group: str, error: type[UnknownNameError] = UnknownNameError
    ) -> None:
        self.kind = kind
        self.group = group
        self.error = error
        self._builders: dict[str, Callable[..., T]] = {}
        self._pretrained: set[str] = set()
        self._plugins: dict[str, str] = {}  # entry-point name -> "loaded" / error
        self._plugins_loaded = False
        self._lock = threading.RLock()

    # torchvision's shape (models/_api.py): register / list / get, one per kind
    def register(
        self, name: str, *, pretrained: bool = False
    ) -> Callable[[Callable[..., T]], Callable[..., T]]:
        """Register a builder under ``name`` (a decorator); duplicates, a name
        that is not text and a builder that cannot be called are refused."""
        if not isinstance(name, str) or not name.strip():
            raise ValueError(
                f"A {self.kind} is registered under a non-empty name (a str); got "
                f"{name!r}."
            )

        def decorator(builder: Callable[..., T]) -> Callable[..., T]:
            if not callable(builder):
                raise TypeError(
                    f"The {self.kind} {name!r} needs a builder that can be called "
                    f"(a function or a class); got {type(builder).__name__}."
                )
            with self._lock:
                if name in self._builders:
                    owner = self._builders[name]
                    raise ValueError(
                        f"A {self.kind} named {name!r} is already registered "
                        f"(by {owner.__module__}.{owner.__qualname__})."
                    )
                self._builders[name] = builder
                if pretrained:
                    self._pretrained.add(name)
            return builder

        return decorator

    def _load_plugins(self) -> None:
        with self._lock:
            if self._plugins_loaded:
                return
            self._plugins_loaded = True
            for entry_point in entry_points(group=self.group):
                try:
                    loaded = entry_point.load()
                    if callable(loaded) and not isinstance(loaded, type):
                        loaded()
                    self._plugins[entry_point.name] = "loaded"
                except Exception as exc:  # a broken plugin must not break the host
                    self._plugins[entry_point.name] = f"failed: {exc!r}"
                    warn_user(
                        f"skanime {self.kind} plugin {entry_point.name!r} "
                        f"({entry_point.value}) could not be loaded and is skipped: "
                        f"{exc!r}",
                        PluginWarning,
                    )

    def list(self, pattern: str | None = None) -> list[str]:
        """Sorted registered names, optionally filtered by a glob ``pattern``."""
        self._load_plugins()
        names = sorted(self._builders)
        return names if pattern is None else fnmatch.filter(names, pattern)

    def is_pretrained(self, name: str) -> bool:
        """Whether ``name`` was registered with ``pretrained=True``."""
        self._load_plugins()
        return name in self._pretrained

    def accepts(self, name: str, keyword: str) -> bool:
        """Whether the builder of ``name`` takes the keyword argument ``keyword``."""
        self._load_plugins()
        builder = self._builders.get(name)
        if builder is None:
            return False
        try:
            parameters = inspect.signature(builder).parameters.values()
        except (TypeError, ValueError):
            return False
        return any(
            p.name == keyword or p.kind is inspect.Parameter.VAR_KEYWORD
            for p in parameters
        )

    def get_builder(self, name: str) -> Callable[..., T]:
        """The builder registered under ``name``.

        Raises
        ------
        UnknownNameError
            (the registry's ``error`` class) naming the available builders, the
            closest name and the plugins found.
        """
        self._load_plugins()
        try:
            return self._builders[name]
        except KeyError:
            plugins = ", ".join(f"{k} ({v})" for k, v in sorted(self._plugins.items()))
            names = sorted(self._builders)
            close = fnmatch.filter(names, f"*{name}*") if name else []
            close = close or difflib.get_close_matches(str(name), names, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise self.error(
                f"Unknown {self.kind} {name!r}.{hint} Available: "
                f"{', '.join(names)}. Plugins found: {plugins or 'none'}."
            ) from None

    def get(self, name: str, **config) -> T:
        """Build what ``name`` is registered for, with keyword ``config``
        (see :meth:`get_builder` for an unknown name)."""
        return self.get_builder(name)(**config)
