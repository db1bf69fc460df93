"""``python -m skanime``: the ``skanime`` command, where its script is not on
the ``PATH`` (a notebook's ``!python -m skanime ...``, a virtual environment
not activated)."""

import sys

from .cli import console

if __name__ == "__main__":
    sys.exit(console())
