"""The timed methods, one object each: what it computes, what it needs, how its cost grows.

JAX-free, so that a config naming methods is validated without starting JAX; calling a
method (`apply`, `prepare`) loads secondorder.products, where the products themselves are.

| name                  | computes                                               | cost (x one gradient) |
|-----------------------|--------------------------------------------------------|-----------------------|
| hessian_then_hvp      | dense H (P fwd-over-rev HVPs), then H @ v              | ~P, memory 4 P^2 B    |
| naive_hvp             | H @ v with H given (the homework's name)               | P^2 flops             |
| hvp_rev_rev (= hvp)   | grad_x <grad f(x), v> (the homework's `hvp`)           | ~2-4, stores 2 tapes  |
| hvp_fwd_rev           | jvp of grad f at x along v                             | ~2                    |
| hvp_rev_fwd           | grad_x (jvp of f at x along v)                         | ~2-3                  |
| hvp_linearize         | linearize(grad f, x), then apply to v                  | ~2, reusable          |
| hvp_linearized_apply  | apply a stored linearization to v                      | ~1, given the tape    |
| hvp_by_hand           | the R-operator written out (the suite's MLP only)      | ~2-3: the reference   |
| gradient              | grad f(x) (the baseline, ignores v)                    | 1                     |
| dispatch_floor        | the first number of v: the fixed cost of a call        | 0                     |

A method is called as `state = method.prepare(f, x)` (untimed: the dense Hessian for
naive_hvp, the linearization for hvp_linearized_apply, else None), then
`method.apply(f, state, x, v)`, which is what gets timed (secondorder.timing). x and v are
any pytree of arrays (a flat vector is one); the result has x's structure.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, Literal

Kind = Literal["dense", "hvp", "gradient", "floor"]


@dataclasses.dataclass(frozen=True)
class Method:
    """One timed method.

    Attributes:
      name: how configs, tables and runs.csv call it.
      kind: "dense" (needs the P x P Hessian in memory), "hvp" (a matrix-free product),
        "gradient" or "floor" (the fixed cost of a call).
      cost: how its cost grows with the number of parameters P, in words.
      summary: what it computes, in a few words.
      state: what `prepare` builds before the timed calls ("hessian", "linearization"), or None.
      needs_model: it needs the suite's MLP itself, not only a scalar function; then
        `apply(model, state, x, v, inputs)`.
      hessian_block: columns of the dense Hessian built per vectorised block (0: all at once).
    """

    name: str
    kind: Kind
    cost: str
    summary: str
    state: str | None = None
    needs_model: bool = False
    hessian_block: int = 0

    @property
    def needs_vector(self) -> bool:
        """Whether the output depends on v (the gradient and the floor ignore it: given a
        block of vectors they run once)."""
        return self.kind in ("dense", "hvp")

    @property
    def dense(self) -> bool:
        return self.kind == "dense"

    def prepare(self, f: Callable, x: Any) -> Any:
        """The untimed state the timed call is given (None for most methods)."""
        from secondorder import products

        return products.prepare(self.state, f, x, self.hessian_block)

    def apply(self, f: Callable, state: Any, x: Any, v: Any, *inputs: Any) -> Any:
        """The timed computation; `inputs` only for a method that needs the model."""
        from secondorder import products

        return products.apply(self.name, f, state, x, v, *inputs, hessian_block=self.hessian_block)


_QUADRATIC, _LINEAR = "P HVPs and P^2 memory", "a few gradients"
METHODS: dict[str, Method] = {m.name: m for m in (
    Method("hessian_then_hvp", "dense", _QUADRATIC, "build the dense Hessian, then H @ v"),
    Method("naive_hvp", "dense", "P^2 flops (given H)", "H @ v with the Hessian given", state="hessian"),
    Method("hvp_rev_rev", "hvp", _LINEAR, "reverse-over-reverse HVP (the homework's hvp)"),
    Method("hvp_fwd_rev", "hvp", _LINEAR, "forward-over-reverse HVP"),
    Method("hvp_rev_fwd", "hvp", _LINEAR, "reverse-over-forward HVP"),
    Method("hvp_linearize", "hvp", _LINEAR, "linearize the gradient, then apply it"),
    Method("hvp_linearized_apply", "hvp", "about one gradient (given the linearization)",
           "apply a stored linearization", state="linearization"),
    Method("hvp_by_hand", "hvp", _LINEAR, "the R-operator derived by hand", needs_model=True),
    Method("gradient", "gradient", "one gradient", "the gradient"),
    # The fixed cost of calling a compiled function with these arguments (dispatch,
    # argument handling, synchronisation): measured at every point, never inferred.
    Method("dispatch_floor", "floor", "constant", "a trivial call on the same arguments"),
)}
FLOOR_METHOD = "dispatch_floor"
"""Timed at every point of a sweep beside the configured methods."""
METHOD_NAMES = tuple(name for name in METHODS if name != FLOOR_METHOD)
"""The methods a config may name, in table order."""
TASK_METHODS = ("hessian_then_hvp", "naive_hvp", "hvp_rev_rev")
"""The homework's three timings, in its order: (1) Hessian + H@v, (2) H@v given H, (3) autograd HVP."""


def get_method(name: str, hessian_block: int = 0) -> Method:
    """The method `name`, with the dense Hessian's block size bound; ValueError naming the known ones."""
    try:
        method = METHODS[name]
    except KeyError:
        raise ValueError(f"unknown method {name!r}; known: {', '.join(METHODS)}") from None
    return dataclasses.replace(method, hessian_block=hessian_block) if method.dense else method
