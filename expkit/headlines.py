"""Numbers in prose, written by code: regenerates the headline blocks of Markdown files.

A block is

    <!-- headlines:PACKAGE[.FUNCTION] RUN_DIR -->
    ...lines that FUNCTION(RUN_DIR) returns...
    <!-- /headlines -->

where FUNCTION (default `headline_lines`) lives in `PACKAGE.headlines` and reads only the
committed result files under RUN_DIR. tests/test_readme.py fails when a file's text differs
from what the code computes now; this module rewrites them:

    python -m expkit.headlines README.md docs/*.md
"""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path

BLOCK = re.compile(r"(<!-- headlines:(\w+)(?:\.(\w+))? (\S+) -->\n)(.*?)(\n?<!-- /headlines -->)", re.S)


def lines_for(package: str, function: str | None, run_dir: str, root: Path) -> list[str]:
    """What `package.headlines.function` writes for `run_dir` (relative to `root`)."""
    module = importlib.import_module(f"{package}.headlines")
    lines = getattr(module, function or "headline_lines")(root / run_dir)
    return [line.replace(str(root / run_dir), run_dir) for line in lines]


def blocks(text: str) -> list[tuple[str, str | None, str, str]]:
    """(package, function, run_dir, current text) of every block in `text`."""
    return [(m.group(2), m.group(3), m.group(4), m.group(5)) for m in BLOCK.finditer(text)]


def render(text: str, root: Path) -> str:
    """`text` with every block's lines recomputed from the result files."""
    return BLOCK.sub(lambda m: m.group(1) + "\n".join(lines_for(m.group(2), m.group(3), m.group(4), root))
                     + "\n<!-- /headlines -->", text)


def main(paths: list[str]) -> int:
    root = Path.cwd()
    for path in map(Path, paths):
        text = path.read_text()
        new = render(text, root)
        if new != text:
            path.write_text(new)
            print(f"rewrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
