"""The handwritten digits of scikit-learn, split into a training and a held-out set.

scikit-learn ships the UCI optical digits in its wheel (`sklearn.datasets.load_digits`:
1797 grey images of 8 x 8 pixels, intensities 0..16, ten classes), so nothing is
downloaded at run time. Pixels are scaled to [0, 1]; the split is a permutation drawn
from the seed, the first `train` images for training and the rest held out.
"""

from __future__ import annotations

import dataclasses

import numpy as np

IMAGES = 1797
FEATURES = 64
CLASSES = 10


@dataclasses.dataclass(frozen=True)
class Split:
    """Training and held-out images: x (n, 64) float64 in [0, 1], y (n,) int32 labels 0..9."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def load_split(train: int, test: int | None = None, seed: int = 0) -> Split:
    """`train` training images and `test` held-out ones (None: all the others), drawn by `seed`.

    Raises:
      ValueError: more images asked for than the 1797 there are.
    """
    from sklearn.datasets import load_digits

    test = IMAGES - train if test is None else test
    if train < 1 or test < 0 or train + test > IMAGES:
        raise ValueError(f"train ({train}) + test ({test}) images must be at most {IMAGES}, train >= 1")
    digits = load_digits()
    x = np.asarray(digits.data, np.float64) / 16.0
    y = np.asarray(digits.target, np.int32)
    order = np.random.default_rng(seed).permutation(IMAGES)
    tr, te = order[:train], order[train:train + test]
    return Split(x[tr], y[tr], x[te], y[te])
