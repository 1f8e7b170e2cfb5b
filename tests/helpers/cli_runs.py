"""Helpers for the runner tests: run a CLI in-process, snapshot a directory, finish a run."""

from pathlib import Path

import pytest


def run_in_process(cli, argv, capsys):
    """Runs `cli` (it exits) on `argv`: (exit status, stdout, stderr)."""
    with pytest.raises(SystemExit) as exit_info:
        cli([str(a) for a in argv])
    out, err = capsys.readouterr()
    return exit_info.value.code, out, err


def snapshot(path: Path) -> dict:
    """{relative path: bytes} of every file below `path`: equal before and after = untouched."""
    return {p.relative_to(path): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def finish(cli, config: Path, out: Path) -> Path:
    """One uninterrupted run of `config` into `out`, which must exit 0."""
    with pytest.raises(SystemExit) as exit_info:
        cli(["--config", str(config), "--out", str(out)])
    assert exit_info.value.code == 0
    return out


def assert_rejected(cli, config: Path, out: Path, args: list, message: str, capsys) -> None:
    """Bad input: `cli` exits 2 with one line naming `message` on stderr, and writes nothing."""
    status, stdout, err = run_in_process(cli, ["--config", config, "--out", out, *args], capsys)
    assert status == 2 and stdout == ""
    assert err.count("\n") == 1 and err.startswith("error:") and message in err
    assert not Path(out).exists()


def forget_units(out: Path, keys) -> None:
    """Takes `keys` off a driver run's ledger (units.csv), as a kill before their ledger lines leaves it:
    a re-run drops whatever rows of theirs remain and measures them again."""
    import pandas as pd

    ledger = pd.read_csv(out / "units.csv")
    ledger[~ledger["unit"].isin(list(keys))].to_csv(out / "units.csv", index=False)
