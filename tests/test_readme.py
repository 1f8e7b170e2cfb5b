"""README's promises: the library example runs as written, the quick start names real files."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def code_block(text: str, marker: str) -> str:
    """The python block between `<!-- {marker}:start -->` and `<!-- {marker}:end -->`."""
    block = re.search(rf"<!-- {marker}:start -->\n```python\n(.*?)```\n<!-- {marker}:end -->", text, re.S)
    assert block, f"the {marker} block is gone"
    return block.group(1)


def run_example(code: str) -> str:
    """Runs a documented example as a user would, in a fresh process (it sets x64 globally)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


NUMBER = r"-?\d+\.\d+"


def test_library_example_runs_exactly_as_written():
    # In the quick tier (CI's bare pytest): about 15 s in a process of its own.
    out = run_example(code_block(README, "library-example"))
    trace = rf"trace {NUMBER} \[{NUMBER}, {NUMBER}\] \(exact {NUMBER}\)"
    assert re.search(rf"top 5 eigenvalues \[.*\]; {trace}", out), out
    assert re.search(r"compiled in \d+\.\d\d s; median \d+ µs per HVP\n", out), out


@pytest.mark.slow
def test_the_flax_example_of_docs_library_runs_exactly_as_written():
    pytest.importorskip("flax", reason='the models extra: pip install -e ".[models]"')
    out = run_example(code_block((ROOT / "docs" / "library.md").read_text(), "flax-example"))
    assert re.search(rf"hessian: top 5 \[.*\]; trace {NUMBER} .*\nggn: top 5 \[.*\]; trace {NUMBER} ", out), out


def quick_start_lines() -> list[str]:
    """The command lines of README's quick start (its first bash block)."""
    section = README[README.index("## Quick start"):]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    return [line.strip() for line in block.splitlines() if line.strip() and not line.startswith("#")]


def test_quick_start_is_two_commands_naming_real_files():
    lines = quick_start_lines()
    assert lines == ['pip install -e ".[test]" && python scripts/run_hvp.py --config configs/hvp_homework.toml',
                     "pytest"]
    for path in re.findall(r"(configs/\S+\.toml|scripts/\S+\.py)", lines[0]):
        assert (ROOT / path).is_file(), path


def test_ci_runs_the_quick_start_lines_exactly_as_written():
    ci = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    start = ci.index("# --- README quick start ---")
    assert ci[start + 1:start + 3] == quick_start_lines()


def test_headline_numbers_are_what_the_code_computes_from_the_result_files():
    from expkit.headlines import blocks, render

    documents = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    found = {(b[0], b[1]) for path in documents for b in blocks(path.read_text())}
    assert {("hvp_bench", None), ("lr_meta", None), ("curvature", None), ("hvp_bench", "duration_lines"),
            ("curvature", "cost_lines"), ("hvp_bench", "per_layer_lines"), ("hvp_bench", "depth_range_lines"),
            ("hvp_bench", "peer_lines"), ("hvp_bench", "rerun_lines")} <= found
    for path in documents:
        text = path.read_text()
        assert render(text, ROOT) == text, f"{path.name}'s numbers differ from the result files: " \
                                           "python -m expkit.headlines README.md docs/*.md"


def test_the_layout_names_every_module_of_every_package():
    layout = re.search(r"## Layout\n\n```\n(.*?)```", README, re.S).group(1)
    packages = ["expkit", "secondorder", "hvp_bench", "lr_meta", "curvature"]
    starts = {p: layout.index(f"{p}/") for p in packages}
    for package in packages:
        later = [s for s in starts.values() if s > starts[package]]
        text = layout[starts[package]:min(later, default=len(layout))]
        named = set(re.findall(r"[a-z_]+", text))
        path = ROOT / package
        modules = {p.stem for p in path.glob("*.py") if p.stem != "__init__"}
        modules |= {p.name for p in path.iterdir() if (p / "__init__.py").is_file()}
        assert modules <= named, f"README's layout misses {sorted(modules - named)} of {package}/"


def test_every_section_that_quotes_a_hand_corrected_run_says_so():
    """A run whose provenance was corrected by hand (meta.json `provenance_note`) is marked wherever it is quoted."""
    import re

    from expkit.headlines import HAND_CORRECTED, hand_corrected

    corrected = [d.name for d in sorted((ROOT / "results").iterdir()) if hand_corrected(d)]
    assert corrected, "expected the hand-corrected GPU runs among the committed results"
    unmarked = []
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for section in re.split(r"\n(?=#+ )", page.read_text()):
            named = [name for name in corrected if re.search(rf"\b{re.escape(name)}\b", section)]
            if named and HAND_CORRECTED not in section.replace("\n", " "):
                unmarked.append(f"{page.name}: {section.splitlines()[0][:60]!r} quotes {named}")
    assert not unmarked, f"say '{HAND_CORRECTED}' in these sections: {unmarked}"
