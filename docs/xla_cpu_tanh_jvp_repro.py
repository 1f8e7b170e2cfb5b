"""XLA:CPU: jit(vmap(jvp(gelu))) is nonzero where the derivative is exactly 0 (saturated tanh).

Minimal reproducer, no project code: python docs/xla_cpu_tanh_jvp_repro.py (seconds).

Sixteen inputs to jax.nn.gelu(approximate=True) in float64, a block of 4 tangents. The
first derivative g'(x) v and the second g''(x) v (an HVP) are computed three ways: one
tangent under jit, the block under jit(vmap), the block under eager vmap. Where
tanh(u) == -1 exactly (x <= -20) the exact derivatives are 0, and the single and eager
ones are; the jitted vmap returns -1.6e-9 (g', x = -1e3) and 5.5e6 (g'', x = -1e5).

Mechanism: JAX's tanh JVP is (g + g*t) * (1 - t). Under vmap the tangent g = c*dz is
batched and t is not; XLA's algebraic simplifier rewrites (c*dz)*t into dz*(c*t), so the
fused loop computes c*dz + dz*(c*t); with t == -1 that is a*c - a*c, which LLVM contracts
into fma(dz, c, -round(dz*c)): the rounding error of dz*c instead of 0. An exact rational
emulation of that FMA below reproduces XLA's numbers digit for digit.

The script then re-runs itself four times: without the algebraic simplifier
(--xla_disable_hlo_passes=algsimp), without FMA (--xla_cpu_max_isa=AVX), with JAX's tanh
JVP rule rewritten as g * ((1 + t) * (1 - t)) (REPRO_PATCHED_RULE=1, a proposed fix: the
unbatched factor is formed before the tangent is multiplied in), and with the GELU's tanh
called with accuracy=HIGHEST, whose JVP rule is 4 g sigmoid(2x) sigmoid(-2x)
(REPRO_TANH_HIGHEST=1: its single products are the true, tiny derivatives, 1e-259 at
x = -20, not 0). In each, the vmapped products equal the single ones. Exit status: 1 if
any run shows the fault, else 0. With --hlo it prints the optimized HLO of the vmapped
g'(x) v instead (the reassociated product).
"""

import os
import subprocess
import sys
from fractions import Fraction

import jax
import jax.numpy as jnp
import numpy as np

jax.config.update("jax_enable_x64", True)
np.set_printoptions(precision=3, linewidth=150)
MODES = ("XLA_FLAGS", "REPRO_PATCHED_RULE", "REPRO_TANH_HIGHEST")

if os.environ.get("REPRO_PATCHED_RULE"):
    from jax._src.interpreters import ad
    from jax._src.lax import lax as lax_internal

    one = lax_internal._one
    ad.defjvp2(lax_internal.tanh_p, lambda g, ans, x, accuracy: lax_internal.mul(
        g, lax_internal.mul(lax_internal.add(one(x), ans), lax_internal.sub(one(x), ans))))


def gelu(z):
    if os.environ.get("REPRO_TANH_HIGHEST"):  # the rule's other branch: 4 g sigmoid(2x) sigmoid(-2x)
        u = np.sqrt(2 / np.pi) * (z + 0.044715 * z**3)
        return z * (0.5 * (1 + jax.lax.tanh(u, accuracy=jax.lax.AccuracyMode.HIGHEST)))
    return jax.nn.gelu(z, approximate=True)


def d1(x, v):  # g'(x) v
    return jax.jvp(gelu, (x,), (v,))[1]


def d2(x, v):  # g''(x) v: the Hessian-vector product of sum(gelu)
    return jax.jvp(jax.grad(lambda z: jnp.sum(gelu(z))), (x,), (v,))[1]


def cpu_flags() -> str:
    try:
        flags = next(line for line in open("/proc/cpuinfo") if line.startswith("flags")).split()
    except (OSError, StopIteration):
        return "unknown"
    return " ".join(f for f in ("avx2", "fma", "avx512f") if f in flags) or "none of avx2/fma/avx512f"


def main() -> int:
    x = jnp.array([-3.0, -20.0, -1e2, -1e3, -1e4, -1e5, 1.0, 2.0] * 2)  # (16,)
    tangents = jnp.ones((4, 16))
    if "--hlo" in sys.argv:
        text = jax.jit(jax.vmap(d1, in_axes=(None, 0))).lower(x, tangents).compile().as_text()
        print("\n".join(line.split(", metadata=")[0] for line in text.splitlines()
                        if line.strip().startswith("%") and ("multiply(" in line or "add(" in line
                                                            or "subtract(" in line or "tanh(" in line)))
        return 0
    setting = os.environ.get("XLA_FLAGS") or ("JAX's tanh JVP rule patched" if os.environ.get(
        "REPRO_PATCHED_RULE") else "lax.tanh(accuracy=HIGHEST)" if os.environ.get("REPRO_TANH_HIGHEST")
        else "default flags")
    print(f"--- {setting}   (jax {jax.__version__}, jaxlib {jax.lib.__version__}, "
          f"{jax.devices()[0].platform}, CPU flags: {cpu_flags()})")
    print("x                      ", np.asarray(x[:8]))
    faulty = False
    for name, fn in (("g'(x) ", d1), ("g''(x)", d2)):
        single = np.asarray(jax.jit(fn)(x, tangents[0]))
        batched = np.asarray(jax.jit(jax.vmap(fn, in_axes=(None, 0)))(x, tangents))
        eager = np.asarray(jax.vmap(fn, in_axes=(None, 0))(x, tangents))
        print(f"{name} jit, one tangent  ", single[:8])
        print(f"{name} jit(vmap), row 0  ", batched[0, :8])
        print(f"{name} eager vmap, row 0 ", eager[0, :8])
        faulty |= bool(np.any(batched[:, 1:6] != single[1:6]))  # x <= -20: saturated
    if not any(os.environ.get(k) for k in MODES):
        # g'(x) v with v = 1, as the fused loop computes it: dz = u'(x)/c = 1 + 3 a x^2, the
        # tangent term c*dz + dz*(c*t) with t = -1 as one FMA, times (1 - t) = 2 and x / 2.
        c, a = 0.7978845608028654, 0.044715

        def fma(p, q, r):  # correctly rounded p*q + r
            return float(Fraction(p) * Fraction(q) + Fraction(r))

        emulated = [fma(dz, c, dz * (c * -1.0)) * 2 * 0.5 * xx
                    for xx in (-1e2, -1e3, -1e4, -1e5) for dz in [1.0 + 3 * xx * xx * a]]
        print("emulated FMA residual, g'(x) at x = -1e2 .. -1e5:", " ".join(f"{e:.3e}" for e in emulated))
        verdicts = {"default flags": faulty}
        runs = [{"XLA_FLAGS": "--xla_disable_hlo_passes=algsimp"}, {"XLA_FLAGS": "--xla_cpu_max_isa=AVX"},
                {"REPRO_PATCHED_RULE": "1"}, {"REPRO_TANH_HIGHEST": "1"}]
        labels = {"REPRO_PATCHED_RULE": "patched tanh JVP rule", "REPRO_TANH_HIGHEST": "lax.tanh(accuracy=HIGHEST)"}
        for extra in runs:
            env = {k: v for k, v in os.environ.items() if k not in MODES}
            label = extra.get("XLA_FLAGS") or labels[next(iter(extra))]
            verdicts[label] = subprocess.run([sys.executable, __file__], env={**env, **extra}).returncode != 0
        print("summary (does jit(vmap) differ from the single product where tanh(u) == -1?): "
              + "; ".join(f"{k}: {'FAULT' if v else 'same'}" for k, v in verdicts.items()))
        faulty = any(verdicts.values())
    return int(faulty)


if __name__ == "__main__":
    sys.exit(main())
