"""What a compiled program costs without running it: flops, bytes, kernels and memory.

    compiled = jax.jit(f).lower(*args).compile()
    compiled_cost(compiled)   # {"flops", "bytes_accessed", "transcendentals", "kernels", memory...}

Timings on a shared machine are noisy; these are not. XLA's cost analysis counts the
arithmetic and the memory traffic of the optimised program, its memory analysis the
bytes it holds, and the optimised HLO's entry computation lists the operations the
runtime launches one by one (a kernel each on a GPU, a thunk each on XLA:CPU): the fixed
cost a call pays however small its arrays. Ratios of these between two methods say what
the arithmetic alone predicts for the ratio of their times.
"""

from __future__ import annotations

import re

from secondorder.timing import memory_of

NOT_KERNELS = frozenset({"parameter", "constant", "tuple", "get-tuple-element", "bitcast", "after-all",
                         "opt-barrier", "partition-id", "replica-id"})
"""Entry operations that launch nothing: they name buffers, not work."""
NHWC = "b01f_01io->b01f"
"""The layout of every convolution of a gradient of an NHWC network: batch first, features last."""
_TRANSPOSE = re.compile(r"= \S+ transpose\(")
_CONV_LABELS = re.compile(r"= \S+ convolution\(.*?dim_labels=([\w>-]+)")
_OPCODE = re.compile(r"^\s*(?:ROOT\s+)?%?[\w.\-]+\s*=\s*.*?\s([a-z][a-z0-9\-]*)\(")
_HEADER = re.compile(r"^(ENTRY\s+)?%?([\w.\-]+)\s.*\{\s*$")
_WHILE = re.compile(r"\swhile\(.*?condition=%?([\w.\-]+), body=%?([\w.\-]+)")
_TRIP = re.compile(r'"known_trip_count":\{"n":"(\d+)"')
COST_KEYS = (("flops", "flops"), ("bytes_accessed", "bytes accessed"), ("transcendentals", "transcendentals"))


def computations(hlo_text: str) -> dict[str, list[str]]:
    """Computation name -> its instruction lines, for every computation of an HLO module's text."""
    found, lines = {}, None
    for line in hlo_text.splitlines():
        if not line.startswith((" ", "}")) and (match := _HEADER.match(line)):
            lines = found.setdefault(match.group(2), [])
        elif line.startswith("}"):
            lines = None
        elif lines is not None:
            lines.append(line)
    return found


def _analysed(hlo_text: str, computation: str | None = None) -> dict[str, float]:
    """XLA's cost analysis of the module, or of one of its computations made the entry; NaN if it fails.

    Uses jaxlib's HLO parser and cost analysis (private bindings: pinned by the jax version)."""
    nan = {name: float("nan") for name, _ in COST_KEYS}
    try:
        import jax
        from jax._src.lib import xla_client
        from jaxlib import _hlo

        if computation is not None:
            hlo_text = re.sub(r"^ENTRY ", "", hlo_text, flags=re.M)
            hlo_text = re.sub(rf"^(%?{re.escape(computation)}\s)", r"ENTRY \1", hlo_text, count=1, flags=re.M)
        module = _hlo.hlo_module_from_text(hlo_text)
        analysis = xla_client._xla.hlo_module_cost_analysis(jax.devices("cpu")[0].client, module)
    except Exception:  # a jax without these bindings: say unknown, never guess
        return nan
    return {name: float(analysis.get(key, 0.0)) for name, key in COST_KEYS}  # absent: none of it


def loop_steps(compiled) -> list[dict[str, float]]:
    """One row per `while` loop of the optimised program: its trip_count (NaN if XLA does not know it),
    kernels (operations of one step that do work: fusions, library calls, copies) and the flops,
    bytes_accessed and transcendentals of one step (body and condition)."""
    text = compiled.as_text()
    bodies = computations(text)
    steps = []
    for line in text.splitlines():
        if (match := _WHILE.search(line)) is None:
            continue
        condition, body = match.groups()
        trip = (found := _TRIP.search(line)) and found.group(1)
        ops = [m.group(1) for l in bodies.get(body, []) if (m := _OPCODE.match(l))]
        cost = {name: a + b for (name, a), b in zip(_analysed(text, body).items(), _analysed(text, condition).values())}
        steps.append({"trip_count": float(trip) if trip else float("nan"),
                      "kernels": float(sum(op not in NOT_KERNELS for op in ops)), **cost})
    return steps


def trip_cost(compiled) -> dict[str, float]:
    """flops, bytes_accessed and transcendentals of a whole call, every loop step counted: XLA's own
    analysis (each loop's step once) plus (trip count - 1) steps of each loop."""
    whole = _analysed(compiled.as_text())
    for step in loop_steps(compiled):
        for name in whole:
            whole[name] += (step["trip_count"] - 1) * step[name]
    return whole


def entry_opcodes(hlo_text: str) -> list[str]:
    """The opcodes of the ENTRY computation of an HLO module's text, in program order."""
    opcodes, inside = [], False
    for line in hlo_text.splitlines():
        if line.startswith("ENTRY"):
            inside = True
        elif inside and line.startswith("}"):
            break
        elif inside and (match := _OPCODE.match(line)):
            opcodes.append(match.group(1))
    return opcodes


def kernel_count(hlo_text: str) -> int:
    """Operations of the entry computation that do work (fusions, dots, convolutions, copies, custom calls)."""
    return sum(op not in NOT_KERNELS for op in entry_opcodes(hlo_text))


def convolution_layouts(hlo_text: str) -> dict[str, int]:
    """dim_labels -> how many convolutions of the optimised program use it (e.g. "b01f_01io->b01f": NHWC)."""
    counts: dict[str, int] = {}
    for labels in _CONV_LABELS.findall(hlo_text):
        counts[labels] = counts.get(labels, 0) + 1
    return counts


def compiled_cost(compiled) -> dict[str, float]:
    """flops, bytes_accessed, transcendentals (XLA's cost analysis), kernels, convolutions (and those in
    another layout than NHWC's: XLA:CPU has a library kernel for NHWC only), transposes anywhere in the
    program, and the memory analysis's bytes.

    compiled: a `jax.stages.Compiled` (`jax.jit(f).lower(...).compile()`). A figure the
    backend does not report is NaN (memory: absent).
    """
    analysis = compiled.cost_analysis() or {}
    if isinstance(analysis, list):  # older jax: one dict per device program
        analysis = analysis[0] if analysis else {}
    cost = {name: float(analysis.get(key, float("nan")))
            for name, key in (("flops", "flops"), ("bytes_accessed", "bytes accessed"),
                              ("transcendentals", "transcendentals"))}
    text = compiled.as_text()
    cost["kernels"] = float(kernel_count(text))
    layouts = convolution_layouts(text)
    cost["convolutions"] = float(sum(layouts.values()))
    cost["convolutions_not_nhwc"] = float(sum(n for labels, n in layouts.items() if labels != NHWC))
    cost["transposes"] = float(len(_TRANSPOSE.findall(text)))  # inside fusions too: data moved, not arithmetic
    return cost | {k: float(v) for k, v in memory_of(compiled).items()}
