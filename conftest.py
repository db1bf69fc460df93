"""Settings for the whole test session, doctests under skanime/ included."""

import os

import torch

# One torch thread unless a test says otherwise (a test that needs more sets
# torch.set_num_threads itself; tests/conftest.py restores one thread after it).
# On a busy 2-core machine the suite ran 3x faster this way.
torch.set_num_threads(1)
os.environ.setdefault("OMP_NUM_THREADS", "1")
