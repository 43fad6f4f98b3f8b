"""A weighted mixture of clip datasets, deterministic per index.

Training mixes sources (procedural clips, VideoMatte, image matting, teacher labels) in fixed
proportions. Item i draws its source and the source's item from
``numpy.random.default_rng([seed, epoch, i])``, so a step-indexed training loop sees the same
samples on every run and on every rank, with no sampler state to save.

Example:
    >>> from memmatte.train.data import ProceduralClips
    >>> a = ProceduralClips(T=1, size=(32, 32), count=5, seed=1)
    >>> b = ProceduralClips(T=1, size=(32, 32), count=5, seed=2)
    >>> mix = MixedClips([a, b], [3.0, 1.0], length=10, seed=0)
    >>> len(mix), mix.source_of(0) in (0, 1)
    (10, True)
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from torch import Tensor
from torch.utils.data import Dataset

Sample = dict[str, Tensor]


class MixedClips(Dataset):
    """Samples from ``datasets`` in proportion to ``weights``; ``length`` items per epoch.

    Args:
        datasets: non-empty datasets returning the same sample dict (same T and size if the
            items are to be batched together).
        weights: one non-negative weight per dataset (need not sum to 1); 0 disables a source.
        length: number of items (the mixture is sampled with replacement).
        seed: fixes which source and which item every index maps to.
    """

    def __init__(self, datasets: Sequence[Dataset], weights: Sequence[float], length: int,
                 seed: int = 0) -> None:
        if len(datasets) == 0 or len(datasets) != len(weights):
            raise ValueError(f"need one weight per dataset, got {len(datasets)} datasets "
                             f"and {len(weights)} weights")
        w = np.asarray(weights, dtype=np.float64)
        if not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
            raise ValueError(f"weights must be finite, >= 0 and not all 0, got {list(weights)}")
        for i, d in enumerate(datasets):
            if w[i] > 0 and len(d) == 0:  # type: ignore[arg-type]
                raise ValueError(f"dataset {i} ({type(d).__name__}) is empty but has weight {w[i]}")
        if length < 1 or seed < 0:
            raise ValueError(f"need length >= 1 and seed >= 0, got length={length}, seed={seed}")
        self.datasets = list(datasets)
        self.probabilities = w / w.sum()
        self.length, self.seed, self.epoch = int(length), int(seed), 0

    def __len__(self) -> int:
        return self.length

    def set_epoch(self, epoch: int) -> None:
        """Re-draw the index -> (source, item) map, and forward the epoch to the sources."""
        self.epoch = int(epoch)
        for d in self.datasets:
            if hasattr(d, "set_epoch"):
                d.set_epoch(epoch)

    def pick(self, index: int) -> tuple[int, int]:
        """(dataset number, item index) that ``index`` maps to."""
        if not 0 <= index < self.length:
            raise IndexError(f"index {index} out of range for {self.length} items")
        rng = np.random.default_rng([self.seed, self.epoch, index])
        source = int(rng.choice(len(self.datasets), p=self.probabilities))
        item = int(rng.integers(len(self.datasets[source])))  # type: ignore[arg-type]
        return source, item

    def source_of(self, index: int) -> int:
        """Which dataset ``index`` is drawn from."""
        return self.pick(index)[0]

    def __getitem__(self, index: int) -> Sample:
        source, item = self.pick(index)
        return self.datasets[source][item]
