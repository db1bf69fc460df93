"""The package's namespace: what ``import skanime`` offers and what it hides."""

import ast
import importlib
import inspect
from pathlib import Path

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


#: Public names without an example in their docstring, and why.
_NO_EXAMPLE = {
    # torch building blocks of the network, built by the estimator
    "skanime.HybridDataset",
    "skanime.HybridModule",
    "skanime.PosterLoader",
    "skanime.backbones.EfficientNetLite",
    "skanime.backbones.EfficientNetLite0",
    "skanime.backbones.backbone_blocks",
    "skanime.backbones.accepts_input_size",
    # whether optional extras are installed: the answer depends on the machine
    "skanime.backbones.lite_available",
    "skanime.backbones.pretrained_available",
    # registration lasts for the process; docs/backbone_plugins.md runs it
    "skanime.backbones.register_backbone",
    "skanime.heads.register_head",
    # what download_posters returns: its example shows one
    "skanime.datasets.DownloadSummary",
    # skanime._atomic's, re-exported; test_atomic.py shows its use
    "skanime.report.atomic_path",
}


def test_every_public_function_and_class_has_an_example():
    """numpydoc's Examples section, which the doctests run; a new public name
    needs one, or a line above saying why not."""
    missing = []
    for module_name in (
        "skanime",
        "skanime.io",
        "skanime.report",
        "skanime.inspection",
        "skanime.intervals",
        "skanime.datasets",
        "skanime.backbones",
        "skanime.heads",
        "skanime.tabular_branches",
    ):
        module = importlib.import_module(module_name)
        for name in module.__all__:
            obj = getattr(module, name)
            if not (inspect.isfunction(obj) or inspect.isclass(obj)):
                continue
            if inspect.isclass(obj) and issubclass(obj, BaseException):
                continue
            if ">>>" not in (inspect.getdoc(obj) or ""):
                missing.append(f"{module_name}.{name}")
    assert sorted(set(missing) - _NO_EXAMPLE) == []
    assert sorted(_NO_EXAMPLE - set(missing)) == []  # an example was added: drop it


def test_every_lower_bound_is_a_release_ci_tests():
    """Each ``>=`` bound of the dependencies and of the test, onnx and intervals
    extras is pinned in .ci/lowest.txt, which CI installs for its second run:
    bounds set by hand (pyarrow 14, onnxruntime 1.17, mapie 1.0, polars 1.0,
    ruff 0.5) named releases that do not import beside NumPy 2 or fail the
    suite."""
    import tomllib

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name
    from packaging.version import Version

    root = Path(__file__).parents[1]
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    declared = [*project["dependencies"]]
    for extra in ("test", "onnx", "intervals"):
        declared += extras[extra]
    pinned = {}
    for line in (root / ".ci" / "lowest.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            pinned[canonicalize_name(name)] = Version(version)
    wrong = []
    for requirement in map(Requirement, declared):
        name = canonicalize_name(requirement.name)
        for spec in requirement.specifier:
            if spec.operator == ">=" and pinned.get(name) != Version(spec.version):
                wrong.append(f"{requirement} (lowest.txt: {pinned.get(name)})")
    assert not wrong


def _private_imports_from_public_modules(source: str) -> list[str]:
    """The ``from .module import _name`` of ``source`` whose module is public:
    a private name of a public module is that module's own business."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.level and node.module:
            if not node.module.rsplit(".", 1)[-1].startswith("_"):
                found += [
                    f"{node.module}.{alias.name}"
                    for alias in node.names
                    if alias.name.startswith("_") and not alias.name.startswith("__")
                ]
    return found


def test_the_import_check_sees_a_private_name_of_a_public_module():
    source = (
        "from .inspection import _importance_size, plot_column_importance\n"
        "from ._bar_figures import bars_size\n"
        "from .datasets._mal import _read_source\n"
        "def f():\n    from ..intervals import (\n        _x,\n    )\n"
    )
    assert _private_imports_from_public_modules(source) == [
        "inspection._importance_size",
        "intervals._x",
    ]


def test_no_module_imports_a_private_name_of_a_public_module():
    package = Path(skanime.__file__).parent
    found = {
        str(path.relative_to(package)): names
        for path in sorted(package.rglob("*.py"))
        if (names := _private_imports_from_public_modules(path.read_text()))
    }
    assert found == {}
