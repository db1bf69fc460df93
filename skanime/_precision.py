"""Mixed precision for training: ``torch.autocast`` around the forward passes.

:class:`~skanime.HybridNet` runs its training forward passes under
:func:`training_autocast`; the weights, the optimizer, the loss, validation and
``predict`` stay float32.
"""

from __future__ import annotations

import contextlib

import torch

__all__ = [
    "MIXED_PRECISION_DTYPES",
    "as_float32",
    "check_mixed_precision",
    "training_autocast",
]

#: Accepted ``mixed_precision`` values -> the autocast dtype. Only bfloat16: it
#: has float32's exponent range, so no gradient scaling is needed (float16
#: would need a ``GradScaler``).
MIXED_PRECISION_DTYPES: dict[str, torch.dtype] = {"bfloat16": torch.bfloat16}


def check_mixed_precision(value, device) -> None:
    """Raise ``ValueError`` unless ``value`` is None or a key of
    :data:`MIXED_PRECISION_DTYPES` that ``device`` supports."""
    if value is None:
        return
    if not isinstance(value, str) or value not in MIXED_PRECISION_DTYPES:
        raise ValueError(
            f"Got mixed_precision={value!r}; expected None or one of "
            f"{sorted(MIXED_PRECISION_DTYPES)}."
        )
    if (
        _device_type(device) == "cuda"
        and torch.cuda.is_available()
        and not torch.cuda.is_bf16_supported()
    ):
        raise ValueError(
            f"mixed_precision={value!r}: this GPU has no bfloat16 support; use "
            "mixed_precision=None."
        )


def training_autocast(value, device) -> contextlib.AbstractContextManager:
    """``torch.autocast`` for ``device`` in the dtype ``value`` names, or a
    context that does nothing for ``value`` None."""
    if value is None:
        return contextlib.nullcontext()
    return torch.autocast(_device_type(device), dtype=MIXED_PRECISION_DTYPES[value])


def _device_type(device) -> str:
    """``"cpu"``, ``"cuda"``, ... of a device (None: skorch leaves the module
    where it is, the CPU unless moved)."""
    return "cpu" if device is None else torch.device(device).type


def as_float32(outputs):
    """``outputs`` (a tensor, or a tuple of tensors and None) in float32, so
    the loss compares them with a float32 target."""
    if isinstance(outputs, tuple):
        return tuple(as_float32(part) for part in outputs)
    if torch.is_tensor(outputs) and outputs.is_floating_point():
        return outputs.float()
    return outputs
