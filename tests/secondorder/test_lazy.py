"""Lazy package names: loaded on first use, listed by dir(), unknown names refused."""

import pytest

from secondorder.lazy import lazy_names


def test_names_load_from_their_module_on_first_use():
    getattr_, dir_, names = lazy_names("expkit", {"fits": ("SlopeFit", "ratio_ci"), "config": ("require",)})
    assert names == ["SlopeFit", "ratio_ci", "require"] and dir_() == names
    from expkit.fits import ratio_ci

    assert getattr_("ratio_ci") is ratio_ci
    with pytest.raises(AttributeError, match="module 'expkit' has no attribute 'nope'"):
        getattr_("nope")
