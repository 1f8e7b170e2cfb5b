"""README's promises: the library example runs as written, the quick start names real files."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_library_example_runs_exactly_as_written(capsys):
    block = re.search(r"<!-- library-example:start -->\n```python\n(.*?)```\n<!-- library-example:end -->",
                      README, re.S)
    assert block, "README lost its library example"
    exec(compile(block.group(1), "README.md", "exec"), {})
    assert re.match(r"compiled in \d+\.\d\d s; median \d+ µs per HVP\n", capsys.readouterr().out)


def test_quick_start_commands_name_real_files():
    quick = README[README.index("## Quick start"):README.index("## Task 1")]
    for path in re.findall(r"(configs/\S+\.toml|scripts/\S+\.py)", quick):
        assert (ROOT / path).is_file(), path
    assert 'pip install -e ".[test]"' in quick and "\npytest\n" in quick
