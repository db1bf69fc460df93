"""What the ``skanime`` command says of arguments none of its options reads:
argparse's ``unrecognized arguments``, with the option each unknown one may
mean (``--max-epochs``: ``--epochs``; Python's ``--max_epochs`` too), or the
commands that have it. Only the standard library is imported.
"""

from __future__ import annotations

import argparse
import difflib


def commands_of(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The subcommands of ``parser`` by name."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _options(parser: argparse.ArgumentParser) -> list[str]:
    """The long options of ``parser`` (``--epochs``), ``--help`` aside."""
    return [
        option
        for action in parser._actions
        for option in action.option_strings
        if option.startswith("--") and option != "--help"
    ]


def _hint(word: str, command: str, commands: dict) -> str:
    """What the unknown option ``word`` of ``command`` may mean: an option of
    that command spelled alike, else the other commands that have it."""
    if not word.startswith("-") or word in ("-", "--"):
        return ""  # a value or a file name: nothing to suggest
    name = word.split("=", 1)[0]
    if not name.startswith("--"):
        name = "-" + name  # "-epochs": a dash short
    name = name[:2] + name[2:].replace("_", "-").lower()
    own = _options(commands[command])
    if name in own:  # "--max_epochs" for an option written "--max-epochs"
        return f"{word}: did you mean {name}?"
    close = difflib.get_close_matches(name, own, n=2, cutoff=0.7)
    if close:
        return f"{word}: did you mean {' or '.join(close)}?"
    others = [c for c, p in commands.items() if c != command and name in _options(p)]
    if others:
        where = ", ".join(f"skanime {c}" for c in others)
        return f"{word} is an option of {where}, not of skanime {command}"
    return ""


def unknown_arguments_words(
    parser: argparse.ArgumentParser, command: str, unknown: list[str]
) -> str:
    """argparse's ``unrecognized arguments: ...`` for the arguments
    ``unknown`` that ``command`` of ``parser`` did not read, with a hint for
    each unknown option that resembles one (:func:`_hint`) and how to list
    the command's options.

    Examples
    --------
    >>> parser = argparse.ArgumentParser(prog="skanime")
    >>> commands = parser.add_subparsers(dest="command")
    >>> train = commands.add_parser("train")
    >>> _ = train.add_argument("--epochs")
    >>> _ = commands.add_parser("predict").add_argument("--interval")
    >>> words = unknown_arguments_words(parser, "train", ["--max-epochs", "3"])
    >>> print(words)  # doctest: +NORMALIZE_WHITESPACE
    unrecognized arguments: --max-epochs 3 (--max-epochs: did you mean
    --epochs?; skanime train --help lists its options)
    >>> words = unknown_arguments_words(parser, "train", ["--interval=0.8"])
    >>> print(words)  # doctest: +NORMALIZE_WHITESPACE
    unrecognized arguments: --interval=0.8 (--interval=0.8 is an option of
    skanime predict, not of skanime train; skanime train --help lists its
    options)
    """
    commands = commands_of(parser)
    hints = [h for word in unknown if (h := _hint(word, command, commands))]
    hints.append(f"skanime {command} --help lists its options")
    return f"unrecognized arguments: {' '.join(unknown)} ({'; '.join(hints)})"
