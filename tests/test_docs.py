"""The Python blocks of docs/*.md: valid Python that imports only what exists.

The README's blocks run in full (test_readme.py); the guides' blocks are
fragments that lean on data and fitted models, so here each is parsed and
every name it imports (from skanime or the libraries it uses) must resolve.
The user guide's first block, which needs no fit, also runs.
"""

import ast
import importlib
import re
import textwrap
from pathlib import Path

import pytest

DOCS = sorted((Path(__file__).parents[1] / "docs").glob("*.md"))


def _blocks(path: Path) -> list[str]:
    found = re.findall(r"```python\n(.*?)```", path.read_text(), re.S)
    return [textwrap.dedent(block) for block in found]


def _imported(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                yield node.module, alias.name
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, None


@pytest.mark.parametrize("path", DOCS, ids=lambda path: path.name)
def test_python_blocks_parse_and_import_names_that_exist(path):
    for number, block in enumerate(_blocks(path)):
        where = f"{path.name}, Python block {number}"
        tree = ast.parse(block, filename=where)  # a SyntaxError names the block
        for module, name in _imported(tree):
            imported = importlib.import_module(module)
            if name is not None and not hasattr(imported, name):
                try:  # a submodule (``from skanime import io``) imports on demand
                    importlib.import_module(f"{module}.{name}")
                except ModuleNotFoundError:
                    pytest.fail(f"{where} imports {name!r} from {module}: no such name")


def test_the_pipeline_block_builds_the_steps_its_comments_name():
    block = _blocks(Path(__file__).parents[1] / "docs" / "user_guide.md")[0]
    namespace: dict = {}
    exec(compile(block, "user_guide.md (pipeline)", "exec"), namespace)
    steps = [name for name, _ in namespace["pipe"].steps]
    assert steps == ["clean", "features", "pack", "net"]
    assert '("clean", TableCleaner)' in block and '("net", ...)' in block
