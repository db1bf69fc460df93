"""The learning-rate schedule of ``lr_schedule="plateau"``, safe to save."""

from __future__ import annotations

from skorch.callbacks import LRScheduler

__all__ = ["PlateauSchedule", "plateau_schedule"]


class PlateauSchedule(LRScheduler):
    """skorch's ``LRScheduler`` that lets go of its torch scheduler when
    training ends.

    A torch scheduler holds the optimizer (and through it every weight of the
    network); kept after training, it would save the weights a second time, as
    a pickled torch object. skorch builds it again when training begins.

    Examples
    --------
    >>> from skanime._schedule import plateau_schedule
    >>> plateau_schedule().kwargs
    {'factor': 0.3, 'patience': 2}
    """

    def on_train_end(self, net, **kwargs):
        self.lr_scheduler_ = None


def plateau_schedule() -> PlateauSchedule:
    """``lr_schedule="plateau"``: the learning rate times 0.3 after 2 epochs
    without a better ``valid_loss`` (torch's ``ReduceLROnPlateau``)."""
    return PlateauSchedule(
        "ReduceLROnPlateau", monitor="valid_loss", factor=0.3, patience=2
    )
