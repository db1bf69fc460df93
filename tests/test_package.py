"""The package's namespace: what ``import skanime`` offers and what it hides."""

import importlib

import pytest

import skanime


def test_every_public_name_resolves_and_dir_shows_only_those():
    for name in skanime.__all__:
        assert getattr(skanime, name) is not None, name
    shown = {name for name in dir(skanime) if not name.startswith("__")}
    # the helpers __init__ imports for itself stay out of tab completion
    assert not shown & {"import_module", "find_spec", "_missing", "_import_module"}
    assert set(skanime.__all__) - {"__version__"} <= shown
    importlib.import_module("skanime.io")  # a submodule, once imported, is shown
    assert "io" in dir(skanime)


def test_unknown_name_is_an_attribute_error_naming_it():
    with pytest.raises(AttributeError, match="'HybridAnimeRegresor'"):
        skanime.HybridAnimeRegresor  # noqa: B018
