"""Training-time poster augmentation for a backbone trained inside the network."""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.data import Dataset

__all__ = ["AugmentedPosters", "PosterAugmentation"]


class PosterAugmentation(nn.Module):
    """A random resized crop, a horizontal flip and a light colour jitter of one
    normalised poster (``torchvision.transforms.v2``).

    The poster arrives as :class:`~skanime.PosterLoader` decodes it, normalised
    with the backbone's ``mean`` and ``std``; it is mapped back to pixels in
    [0, 1], augmented, and normalised again, so the backbone sees what it always
    sees. The random draws come from torch's global generator (which
    ``random_state`` seeds in ``fit``; DataLoader workers get seeds drawn from
    it), so a seeded fit is reproducible.

    Parameters
    ----------
    image_size : int
        Side of the square output (the input's).
    mean, std : tuple of 3 floats
        The normalisation of the input.
    scale : tuple of 2 floats, default=(0.7, 1.0)
        Range of the cropped share of the poster's area.

    Examples
    --------
    >>> import torch
    >>> from skanime._augment import PosterAugmentation
    >>> augment = PosterAugmentation(16, mean=(0.5,) * 3, std=(0.5,) * 3)
    >>> augment(torch.zeros(3, 16, 16)).shape
    torch.Size([3, 16, 16])
    """

    def __init__(
        self,
        image_size: int,
        *,
        mean: tuple[float, ...],
        std: tuple[float, ...],
        scale: tuple[float, float] = (0.7, 1.0),
    ) -> None:
        super().__init__()
        from torchvision.transforms import v2

        self.transform = v2.Compose(
            [
                v2.RandomResizedCrop(int(image_size), scale=scale, antialias=True),
                v2.RandomHorizontalFlip(),
                v2.ColorJitter(brightness=0.2, contrast=0.2, saturation=0.2),
            ]
        )
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32))

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        mean, std = self.mean.view(-1, 1, 1), self.std.view(-1, 1, 1)
        pixels = (image * std + mean).clamp(0.0, 1.0)
        return (self.transform(pixels) - mean) / std


class AugmentedPosters(Dataset):
    """``dataset``'s items with ``transform`` applied to each poster present
    (``x["has_image"]`` 1); a missing poster's zero image is left as it is.

    :class:`~skanime.HybridNet` wraps its training rows in it (``augment=True``);
    validation and ``predict`` never see it.
    """

    def __init__(self, dataset: Dataset, transform: nn.Module) -> None:
        self.dataset = dataset
        self.transform = transform

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, i):
        x, y = self.dataset[i]
        if "image" in x and float(x["has_image"].reshape(-1)[0]) > 0:
            x = {**x, "image": self.transform(x["image"])}
        return x, y
