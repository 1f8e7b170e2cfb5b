"""An independent witness: the task's MLP and its HVP in numpy long double (80-bit on x86).

Written from the maths with numpy only, sharing no code with `secondorder`, so that a
check against it is not another path through the code it checks. The HVP is
Pearlmutter's R-operator written out (forward: the activations and their directional
derivatives; backward: the adjoints and theirs), for a whole block of directions at once.

The network: `h_0 = inputs`, `h_i = gelu(h_{i-1} W_i)` for the hidden layers, loss
`sum(h_n W_out)`; the flat parameter vector is every weight matrix raveled row-major and
concatenated in layer order (the task's `get_params`). The GELU is the task's tanh form,
g(z) = z (1 + tanh u) / 2, u = c (z + a z^3), with the float64 constants JAX uses, so
that a unit that the float64 network saturates (1 + tanh u == 0) is saturated here too.
"""

from __future__ import annotations

import numpy as np

LD = np.longdouble
C = LD(float(np.sqrt(2 / np.pi)))  # exactly the float64 constant jax.nn.gelu multiplies by
A = LD(0.044715)


def gelu_tanh(z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(g, g', g'') of the tanh-form GELU, elementwise in long double."""
    z = np.asarray(z, LD)
    t = np.tanh(C * (z + A * z**3))
    du = C * (1 + 3 * A * z * z)
    d2u = C * 6 * A * z
    s = (1 - t) * (1 + t)
    g = LD(0.5) * z * (1 + t)
    g1 = LD(0.5) * (1 + t) + LD(0.5) * z * s * du
    g2 = s * du + LD(0.5) * z * s * (d2u - 2 * t * du * du)
    return g, g1, g2


def gelu_stable(z: np.ndarray) -> np.ndarray:
    """The same GELU without tanh's cancellation: z sigmoid(2u), for |g| where it is tiny."""
    z = np.asarray(z, LD)
    with np.errstate(over="ignore"):  # exp overflows to inf for z below about -60: g = -0
        return z / (1 + np.exp(-2 * C * (z + A * z**3)))


def split(params: np.ndarray, sizes: list[int]) -> list[np.ndarray]:
    """The flat vector (P,) as the weight matrices (sizes[i], sizes[i+1]), in long double."""
    params = np.asarray(params).astype(LD)
    out, start = [], 0
    for m, n in zip(sizes[:-1], sizes[1:]):
        out.append(params[start:start + m * n].reshape(m, n))
        start += m * n
    if start != params.size:
        raise ValueError(f"{params.size} parameters do not fit layer sizes {sizes}")
    return out


def mlp_hvp(params: np.ndarray, vectors: np.ndarray, sizes: list[int], inputs: np.ndarray) -> np.ndarray:
    """H v of the loss sum(MLP(params)(inputs)) for each row v of `vectors`.

    Args:
      params: (P,); vectors: (k, P); sizes: [input, hidden..., output]; inputs: (batch, input).
    Returns:
      (k, P) in long double.
    """
    ws = split(params, sizes)
    vs = [np.stack(m) for m in zip(*(split(v, sizes) for v in np.atleast_2d(vectors)))]  # each (k, m, n)
    h = np.asarray(inputs, LD)[None]                 # (1, batch, m): the same for every direction
    rh = np.zeros_like(h)
    tape = []
    for w, vw in zip(ws[:-1], vs[:-1]):
        z = h @ w
        rz = rh @ w + h @ vw
        g, g1, _ = gelu_tanh(z)
        tape.append((h, rh, z, rz))
        h, rh = g, g1 * rz
    ones = np.ones(h.shape[1:-1] + (sizes[-1],), LD)  # (batch, out): d loss / d output
    out = [None] * len(ws)
    out[-1] = np.swapaxes(rh, -1, -2) @ ones           # R(h_n^T 1) = Rh_n^T 1
    gh = ones @ ws[-1].T                                # (batch, width)
    rgh = ones @ np.swapaxes(vs[-1], -1, -2)            # (k, batch, width)
    for i in range(len(ws) - 2, -1, -1):
        hp, rhp, z, rz = tape[i]
        _, g1, g2 = gelu_tanh(z)
        gz = g1 * gh
        rgz = g1 * rgh + g2 * gh * rz
        out[i] = np.swapaxes(rhp, -1, -2) @ gz + np.swapaxes(hp, -1, -2) @ rgz
        gh, rgh = gz @ ws[i].T, rgz @ ws[i].T + gz @ np.swapaxes(vs[i], -1, -2)
    k = vs[0].shape[0]
    return np.concatenate([np.broadcast_to(a, (k,) + a.shape[1:]).reshape(k, -1) for a in out], axis=1)


def relative_error(got: np.ndarray, reference: np.ndarray) -> float:
    """max |got - reference| / max |reference| (inf where got is not finite)."""
    got, reference = np.asarray(got, LD), np.asarray(reference, LD)
    if not np.isfinite(got).all():
        return float("inf")
    return float(np.abs(got - reference).max() / np.abs(reference).max())
