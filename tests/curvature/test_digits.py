"""curvature.digits: scikit-learn's bundled digits, split by a seed."""

import numpy as np
import pytest

from curvature.digits import CLASSES, FEATURES, IMAGES, load_split


def test_the_split_has_the_asked_shapes_and_pixels_in_unit_range():
    s = load_split(1440, 357, seed=0)
    assert s.x_train.shape == (1440, FEATURES) and s.y_train.shape == (1440,)
    assert s.x_test.shape == (357, FEATURES) and s.y_test.shape == (357,)
    assert s.x_train.dtype == np.float64 and s.y_train.dtype == np.int32
    assert 0.0 == s.x_train.min() and s.x_train.max() == 1.0
    assert set(np.unique(s.y_train)) == set(range(CLASSES))


def test_the_split_is_a_disjoint_seeded_permutation():
    from sklearn.datasets import load_digits

    a, b, c = load_split(1000, seed=0), load_split(1000, seed=0), load_split(1000, seed=1)
    np.testing.assert_array_equal(a.x_train, b.x_train)
    assert not np.array_equal(a.x_train, c.x_train)
    # Training and held-out images together are the data set, each image once.
    ours = np.column_stack([np.concatenate([a.x_train, a.x_test]), np.concatenate([a.y_train, a.y_test])])
    digits = load_digits()
    theirs = np.column_stack([digits.data / 16.0, digits.target])
    for mine, data in zip(np.unique(ours, axis=0, return_counts=True), np.unique(theirs, axis=0, return_counts=True)):
        np.testing.assert_array_equal(mine, data)
    assert len(ours) == IMAGES


def test_too_many_images_are_refused():
    with pytest.raises(ValueError, match="at most 1797"):
        load_split(1500, 400)
