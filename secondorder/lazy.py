"""Package names that load on first use, so importing a package costs nothing.

    __getattr__, __dir__, __all__ = lazy_names(__name__, {"model": ("MLP",), ...})

in a package's __init__.py makes `package.MLP` import `package.model` when first used
(PEP 562), so that e.g. validating a config does not import JAX. Here, in the library, so
that it and the experiments share one copy (the library may import nothing of the suite).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping


def lazy_names(package: str, exports: Mapping[str, tuple[str, ...]]) -> tuple[Callable, Callable, list[str]]:
    """(__getattr__, __dir__, __all__) for `package`, exporting `exports`: module -> names."""
    where = {name: module for module, names in exports.items() for name in names}
    names = sorted(where)

    def __getattr__(name: str):
        if name in where:
            return getattr(importlib.import_module(f"{package}.{where[name]}"), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return names

    return __getattr__, __dir__, names
