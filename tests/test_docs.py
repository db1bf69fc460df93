"""The Python blocks of docs/*.md: valid Python that imports only what exists.

The README's blocks run in full (test_readme.py); the guides' blocks are
fragments that lean on data and fitted models, so here each is parsed and
every name it imports (from skanime or the libraries it uses) must resolve.
The user guide's first block, which needs no fit, also runs.
"""

import ast
import importlib
import re
import shlex
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


def _commands(path: Path) -> list[str]:
    """The ``skanime`` commands of the shell blocks of ``path``: each line's
    part from ``skanime`` (after ``&&`` or a pipe) to a comment."""
    found = []
    for block in re.findall(r"```(?:bash|sh|shell)\n(.*?)```", path.read_text(), re.S):
        for line in block.splitlines():
            part = re.split(r"(?:^|&&|\|)\s*(?=skanime )", line.split("  #")[0])
            if len(part) > 1:
                found.append(part[-1].strip())
    return found


@pytest.mark.parametrize(
    "path",
    [Path(__file__).parents[1] / "README.md", *DOCS],
    ids=lambda path: path.name,
)
def test_the_commands_shown_parse_with_the_options_they_name(path):
    """A command shown in the README or a guide names only options that exist
    and gives each a value it takes (argparse exits 2 otherwise)."""
    from skanime.cli import build_parser

    parser = build_parser()
    for command in _commands(path):
        words = shlex.split(command)[1:]  # after "skanime"
        try:
            args = parser.parse_args(words)
        except SystemExit:
            pytest.fail(f"{path.name}: {command!r} does not parse")
        assert args.command == words[0]
