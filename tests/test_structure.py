"""The shape of the code: what imports what, what importing costs, how long modules are."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("expkit", "secondorder", "hvp_bench", "hvp_models", "lr_meta", "curvature")
MAX_LINES = 300
LONG_MODULE_REASON = "Longer than 300 lines because"


def python_files(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def imported_modules(path: Path) -> set[str]:
    """Every module named by an import statement in `path`, at any depth (lazy imports too)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def run_python(code: str) -> str:
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


EXPERIMENTS = ("hvp_bench", "hvp_models", "lr_meta", "curvature")
LIBRARY = "secondorder"
# Who may import whom: the core nothing of the suite, the library nothing of the suite
# either (a researcher takes it alone), an experiment the core and the library, never
# another experiment.
FORBIDDEN = {
    "expkit": (LIBRARY, *EXPERIMENTS),
    LIBRARY: ("expkit", *EXPERIMENTS),
    **{e: tuple(o for o in EXPERIMENTS if o != e) for e in EXPERIMENTS},
}


@pytest.mark.parametrize("package, forbidden", [(p, f) for p, fs in FORBIDDEN.items() for f in fs])
def test_no_package_imports_what_it_builds_under_or_beside(package, forbidden):
    offenders = {
        f"{path.relative_to(ROOT)} imports {name}"
        for path in python_files(package) for name in imported_modules(path)
        if name == forbidden or name.startswith(forbidden + ".")
    }
    assert not offenders


def tracked_text_files() -> list[Path]:
    """Every file git tracks, less the recorded data of results/ (JSON, CSV) and binaries."""
    names = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    keep = []
    for name in names:
        path = ROOT / name
        if name.startswith("results/") and path.suffix in (".json", ".csv", ".png", ".svg"):
            continue
        if path.suffix in (".png", ".svg", ".pdf") or not path.is_file():
            continue
        keep.append(path)
    return keep


# What a user's machine does not have: the development machine's paths and lock files,
# references outside the repository, words about how the suite was made.
# Paths are written in pieces so that this file does not name them itself.
MACHINE_TRACES = [
    "/" + "work/", "/" + "root/", "/" + r"home/\w+", r"(?<!fcntl\.)\bflock\b", r"\w+\.lock\b", r"\.\./" + "shared", r"\bdesign\.md\b",
    r"\blent (GPU|machine)", r"starting commit", r"under the lock", r"\bthis CPU\b", r"\bthis machine\b",
]


def test_no_tracked_file_names_the_development_machine():
    import re

    pattern = re.compile("|".join(MACHINE_TRACES))
    found = []
    for path in tracked_text_files():
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            if (match := pattern.search(line)) and path.name != "test_structure.py":
                found.append(f"{path.relative_to(ROOT)}:{number}: {match.group(0)}")
    assert not found


def test_the_core_never_imports_jax_or_matplotlib_at_module_level():
    for path in python_files("expkit"):
        top_level = set()
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.Import):
                top_level.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                top_level.add(node.module.split(".")[0])
        assert not top_level & {"jax", "jaxlib", "matplotlib"}, path


def test_importing_the_core_and_configs_imports_neither_jax_nor_matplotlib():
    modules = [f"expkit.{p.stem}" for p in python_files("expkit") if p.stem != "__init__"]
    modules += ["hvp_bench", "hvp_bench.config", "hvp_bench.cli", "lr_meta", "lr_meta.config", "curvature",
                "curvature.config", "hvp_models", "hvp_models.config", "hvp_models.catalog", "hvp_models.study"]
    heavy = run_python(
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('jax', 'jaxlib', 'matplotlib', 'torch')))"
    )
    assert heavy == "[]"


@pytest.mark.slow
def test_torch_is_imported_only_when_the_peer_is_called():
    # PyTorch is an optional extra: no module imports it at module level (AST), and
    # importing everything that runs a sweep leaves it unimported.
    for package in PACKAGES:
        for path in python_files(package):
            top_level = {a.name for node in ast.parse(path.read_text()).body if isinstance(node, ast.Import)
                         for a in node.names}
            top_level |= {node.module for node in ast.parse(path.read_text()).body
                          if isinstance(node, ast.ImportFrom) and node.module}
            assert not {m for m in top_level if m.split(".")[0] == "torch"}, path
    loaded = run_python(
        "import sys, hvp_bench.torch_peer, hvp_bench.measure, hvp_bench.sweep, hvp_bench.bench_tables\n"
        "print('torch' in sys.modules)"
    )
    assert loaded == "False"


@pytest.mark.slow
def test_importing_the_plotting_modules_leaves_matplotlib_as_it_was():
    out = run_python(
        "import matplotlib\n"
        "matplotlib.use('svg')\n"
        "before = (matplotlib.get_backend(), dict(matplotlib.rcParams))\n"
        "import hvp_bench.plots, hvp_bench.report, lr_meta.plots, curvature.plots\n"
        "after = (matplotlib.get_backend(), dict(matplotlib.rcParams))\n"
        "print(before == after, 'matplotlib.pyplot' in __import__('sys').modules)"
    )
    assert out == "True False"


def test_the_lazy_package_names_resolve():
    out = run_python(
        "import secondorder, lr_meta\n"
        "print(callable(secondorder.hvp), secondorder.MLP.__name__, callable(lr_meta.unrolled_loss))"
    )
    assert out == "True MLP True"
    import secondorder

    missing = [name for name in secondorder.__all__ if not hasattr(secondorder, name)]
    assert not missing


def test_importing_the_library_and_its_method_table_starts_no_jax():
    heavy = run_python(
        "import sys, secondorder, secondorder.methods, secondorder.sizes\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('jax', 'jaxlib', 'expkit')))"
    )
    assert heavy == "[]"


def test_no_curvature_module_implements_an_estimator():
    # The estimators are the library's: nothing in curvature/ calls matfree or Lanczos itself.
    found = [f"{path.relative_to(ROOT)} imports {name}" for path in python_files("curvature")
             for name in imported_modules(path) if name.split(".")[0] == "matfree"]
    assert not found


def test_no_module_is_longer_than_300_lines_without_saying_why():
    long = []
    for package in PACKAGES:
        for path in python_files(package):
            text = path.read_text()
            if text.count("\n") > MAX_LINES and LONG_MODULE_REASON not in (ast.get_docstring(ast.parse(text)) or ""):
                long.append(f"{path.relative_to(ROOT)}: {text.count(chr(10))} lines")
    assert not long


def test_scripts_are_thin_wrappers():
    for path in sorted((ROOT / "scripts").glob("*.py")):
        code = [line for line in path.read_text().split('"""')[-1].splitlines() if line.strip()]
        assert len(code) <= 4, f"{path.name} holds logic; move it into a package"


def console_scripts() -> dict[str, str]:
    import tomllib

    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]


def test_every_script_has_a_console_command():
    targets = set(console_scripts().values())
    for path in sorted((ROOT / "scripts").glob("*.py")):
        line = next(l for l in path.read_text().splitlines() if l.startswith("from "))
        module, name = line[len("from "):].split(" import ")
        assert f"{module}:{name.strip()}" in targets, f"{path.name} has no [project.scripts] entry"


@pytest.mark.parametrize("command", sorted(console_scripts()))
def test_console_command_help(command, capsys):
    import importlib

    module, name = console_scripts()[command].split(":")
    with pytest.raises(SystemExit) as info:
        getattr(importlib.import_module(module), name)(["--help"])
    assert info.value.code == 0
    assert "usage:" in capsys.readouterr().out


def help_examples() -> list[tuple[str, list[str]]]:
    """(command, argv) of every example line under "examples:" in a console command's --help."""
    import contextlib
    import importlib
    import io
    import shlex

    found = []
    for command, target in sorted(console_scripts().items()):
        module, name = target.split(":")
        text = io.StringIO()
        with contextlib.redirect_stdout(text), pytest.raises(SystemExit):
            getattr(importlib.import_module(module), name)(["--help"])
        if "examples:" in text.getvalue():
            for line in text.getvalue().split("examples:", 1)[1].strip().splitlines():
                words = shlex.split(line)
                assert words[0] == command, line
                found.append((command, words[1:]))
    return found


def test_every_command_with_a_config_shows_examples():
    assert {c for c, _ in help_examples()} == {"hvp-run", "hvp-bench", "lr-meta", "curvature", "curvature-blocks", "curvature-density",
                                                  "curvature-xtrace-bias", "hvp-models", "hvp-programs", "hvp-xla-fault"}


@pytest.mark.parametrize("command, argv", help_examples(), ids=lambda x: x if isinstance(x, str) else " ".join(x))
def test_every_help_example_is_a_valid_command(command, argv, tmp_path, capsys):
    # --dry-run checks the config, its --set overrides and the output directory, and stops.
    import importlib

    module, name = console_scripts()[command].split(":")
    argv = [a for a in argv]
    if "--out" in argv:
        argv[argv.index("--out") + 1] = str(tmp_path / "out")
    with pytest.raises(SystemExit) as info:
        getattr(importlib.import_module(module), name)([*argv, "--dry-run"])
    assert info.value.code == 0, capsys.readouterr().err
    assert "is valid" in capsys.readouterr().out


def test_every_test_file_a_tier_names_exists():
    from tests.conftest import TIERS

    missing = [name for files in TIERS.values() for name in files if not (ROOT / "tests" / name).is_file()]
    assert not missing, f"tests/conftest.py's TIERS names files that do not exist: {missing}"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """Module -> the suite's modules it imports, at any depth; `from a import b` names a.b where b is a module."""
    paths = {module_name(path): path for package in PACKAGES for path in python_files(package)}
    graph = {}
    for name, path in paths.items():
        edges = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                edges.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                edges.update(f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in paths else node.module
                             for a in node.names)
        graph[name] = {edge for edge in edges if edge in paths and edge != name}
    return graph


def test_the_import_graph_has_no_circle():
    import graphlib

    try:
        list(graphlib.TopologicalSorter(import_graph()).static_order())
    except graphlib.CycleError as e:
        pytest.fail(f"modules import each other in a circle: {' -> '.join(e.args[1])}")


def draws(module: str) -> bool:
    """A module that draws says so in its name: plots, figures."""
    return "plot" in module.rsplit(".", 1)[-1] or "figure" in module.rsplit(".", 1)[-1]


def test_only_modules_that_draw_import_matplotlib():
    """Measuring and analysis are pure DataFrames and arrays; matplotlib lives in the modules that draw."""
    drawing = [module_name(path) for package in PACKAGES for path in python_files(package)
               if any(m.split(".")[0] == "matplotlib" for m in imported_modules(path)) and not draws(module_name(path))]
    assert not drawing, f"these modules import matplotlib but do not draw (name them *plots/*figures or split them): {drawing}"
