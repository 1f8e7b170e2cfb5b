"""Figures in prose, checked against the result files they come from.

Every measured figure quoted in README.md and docs/*.md is either written by code (an
`expkit.headlines` block) or listed as a *claim* in docs/claims/<document stem>.toml:

    [[claim]]
    text = "24.1× [18.1, 35.1]"                   # as in the document (any line breaks)
    source = "results/bench_levers_cpu/variants.csv"
    where = "variant == 'scan' and method == 'hvp_fwd_rev'"   # optional (CSV): DataFrame.query
    values = ["ratio", "ratio_lo", "ratio_hi"]    # one Python expression per number of `text`

`values` are evaluated with `df` (the CSV's rows, after `where`), `row` (its only row,
where there is exactly one; its columns are also names of their own), `data` (a JSON
source, parsed), `text` and `re` (any other source: a program's committed output), `read(path)` (another result file, CSV or JSON, relative to the
repository), `np` and `pd` in scope. The numbers of `text` are compared, in order,
with the values at the precision `text` prints them (2.27 matches 2.2651-2.2749; 4.6e-13
matches to two significant figures); `step = 100` widens that to a rounding step the
text states in words ("about 1500"). A value written "-" is not compared (a number of the
text that is not a measurement, e.g. the 95 of "95% CI").

A document's *figures* (FIGURE: a number with a decimal point, or followed by a unit, ×
or %) outside code, inline code, link targets and headline blocks must each lie inside
a claim's text, or inside an `[[exempt]]` entry's text (a figure that is not a
measurement: a configuration, a definition, a published figure with its source):

    [[exempt]]
    text = "0.5 ms"
    why = "the setting of the floor test, not a result"

tests/test_claims.py checks both ways: every claim against its data, every figure
covered. `python -m expkit.claims docs/x.md` lists the failing claims and uncovered figures
of a document; `python -m expkit.claims --update docs/x.md` rewrites the numbers of its
failing claims from their data (after a re-run), for a person to read in the diff.
"""

from __future__ import annotations

import json
import math
import re
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

_START = r"(?<![\w.])[-−]?\d+(?:,\d{3})*"  # not inside a word: x64, H100 and float32 are no numbers
_EXPONENT = r"(?:e[-+−]?\d+)?"
NUMBER = re.compile(_START + r"(?:\.\d+)?" + _EXPONENT + r"(?!(?!x\b)\w)")  # "1.9x" is 1.9
UNIT = r"(?:\s?(?:×|%)|\s?x\b|\s(?:s|ms|µs|us|ns|GB|MB|KB|GiB|min|days|hours|h)\b)"
FIGURE = re.compile(_START + r"(?:\.\d+)?" + _EXPONENT + UNIT + "|" + _START + r"\.\d+" + _EXPONENT + r"(?![\w.])")
_SKIPPED = [re.compile(p, re.S) for p in (
    r"```.*?```",                                   # code blocks
    r"<!-- headlines:.*?<!-- /headlines -->",       # written by code already
    r"<!--.*?-->",                                  # comments
    r"`[^`\n]*`",                                   # inline code
    r"!\[[^\]\n]*\]\([^)\n]*\)",                      # images
    r"\]\([^)\n]*\)",                               # link targets
)]


class ClaimError(AssertionError):
    """A claim that does not hold, or cannot be checked; the message says which and why."""


@dataclass(frozen=True)
class Claim:
    text: str
    source: str
    values: tuple[str, ...]
    where: str | None = None
    step: float | None = None


def _pattern(snippet: str) -> re.Pattern:
    """`snippet` as a regex in which any run of whitespace matches any other: a claim
    holds wherever the document wraps its lines."""
    return re.compile(r"\s+".join(map(re.escape, snippet.split())))


def claims_file(document: Path, root: Path) -> Path:
    return root / "docs" / "claims" / f"{document.stem}.toml"


def load(document: Path, root: Path) -> tuple[list[Claim], list[str]]:
    """(claims, exempt texts) listed for `document`; none if it has no claims file."""
    path = claims_file(document, root)
    if not path.is_file():
        return [], []
    table = tomllib.loads(path.read_text())
    claims = [Claim(c["text"], c["source"], tuple(c["values"]), c.get("where"), c.get("step"))
              for c in table.get("claim", [])]
    return claims, [e["text"] for e in table.get("exempt", [])]


def prose(text: str) -> str:
    """`text` with what is not prose blanked (same length, so positions still match)."""
    for pattern in _SKIPPED:
        text = pattern.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)
    return text


def numbers(text: str) -> list[str]:
    """The numbers of `text`, as written, in order."""
    return [m.group(0) for m in NUMBER.finditer(text)]


def _as_float(word: str) -> float:
    return float(word.replace("−", "-").replace(",", ""))


def _precision(word: str) -> tuple[int, int | None]:
    """(decimals of the mantissa, exponent or None) of a number as written: "4.6e-13" -> (1, -13)."""
    mantissa, _, exponent = word.replace("−", "-").partition("e")
    return (len(mantissa.split(".")[1]) if "." in mantissa else 0), (int(exponent) if exponent else None)


def half_unit(word: str) -> float:
    """Half a unit in the last place `word` prints: the rounding it can hide (0.005 for "2.27")."""
    decimals, exponent = _precision(word)
    return 0.5 * 10.0 ** (-decimals + (exponent or 0))


def matches(word: str, value: float, step: float | None = None) -> bool:
    """Whether `value` prints as `word` at `word`'s precision (or within step / 2)."""
    shown = _as_float(word)
    if not math.isfinite(value):
        return False
    if step:
        return abs(value - shown) <= step / 2 * (1 + 1e-9)
    return abs(value - shown) <= half_unit(word) * (1 + 1e-6) + 1e-12 * abs(shown)


def _read(path: Path):
    return json.loads(path.read_text()) if path.suffix == ".json" else pd.read_csv(path)


def evaluate(claim: Claim, root: Path) -> list[float | None]:
    """The claim's values computed from its source (None for "-")."""
    path = root / claim.source
    if not path.is_file():
        raise ClaimError(f"{claim.text!r}: source {claim.source} does not exist")
    scope: dict = {"np": np, "pd": pd, "read": lambda other: _read(root / other)}
    if path.suffix == ".json":
        scope["data"] = json.loads(path.read_text())
    elif path.suffix != ".csv":  # a program's committed output: its lines
        scope.update(text=path.read_text(), re=re)
    else:
        df = pd.read_csv(path)
        if claim.where:
            df = df.query(claim.where)
            if df.empty:
                raise ClaimError(f"{claim.text!r}: no row of {claim.source} where {claim.where}")
        scope["df"] = df
        if len(df) == 1:
            scope["row"] = df.iloc[0]
            scope.update({c: df.iloc[0][c] for c in df.columns if c.isidentifier()})
    out = []
    for expression in claim.values:
        if expression == "-":
            out.append(None)
            continue
        try:
            out.append(float(eval(expression, scope)))  # noqa: S307 - expressions from the repository's own files
        except Exception as e:
            raise ClaimError(f"{claim.text!r}: {expression!r} on {claim.source}: {type(e).__name__}: {e}") from None
    return out


def check(claim: Claim, document_text: str, root: Path) -> None:
    """Raises ClaimError unless the claim's text is in the document and its numbers match its data."""
    if not _pattern(claim.text).search(document_text):
        raise ClaimError(f"{claim.text!r} is not in the document")
    words = numbers(claim.text)
    if len(words) != len(claim.values):
        raise ClaimError(f"{claim.text!r} has {len(words)} numbers ({', '.join(words)}) "
                         f"but {len(claim.values)} values")
    for word, value, expression in zip(words, evaluate(claim, root), claim.values):
        if value is not None and not matches(word, value, claim.step):
            raise ClaimError(f"{claim.text!r}: {word} is {value:.6g} in {claim.source} ({expression})")


def uncovered(document: Path, root: Path) -> list[tuple[int, str]]:
    """(line number, figure) of every figure of `document` no claim or exemption covers."""
    text = document.read_text()
    visible = prose(text)
    claims, exempt = load(document, root)
    covered = np.zeros(len(text), bool)
    for snippet in [c.text for c in claims] + exempt:
        for m in _pattern(snippet).finditer(text):
            covered[m.start():m.end()] = True
    return [(text.count("\n", 0, m.start()) + 1, m.group(0).strip()) for m in FIGURE.finditer(visible)
            if not covered[m.start():m.end()].all()]


def reprint(word: str, value: float, step: float | None = None) -> str:
    """`value` written the way `word` is: its decimals, exponent form, commas, minus sign."""
    minus = "−" if "−" in word else "-"
    if step:
        value = round(value / step) * step
    decimals, exponent = _precision(word)
    if exponent is not None:
        m, e = f"{value:.{decimals}e}".split("e")
        out = f"{m}e{int(e)}"
    else:
        out = f"{value:,.{decimals}f}" if "," in word else f"{value:.{decimals}f}"
    return out.replace("-", minus)


def updated(claim: Claim, root: Path) -> str:
    """The claim's text with each checked number rewritten from the data (same format)."""
    values = iter(evaluate(claim, root))
    pieces, last = [], 0
    for m in NUMBER.finditer(claim.text):
        value = next(values)
        pieces += [claim.text[last:m.start()], m.group(0) if value is None else reprint(m.group(0), value, claim.step)]
        last = m.end()
    return "".join(pieces) + claim.text[last:]


def update(document: Path, root: Path) -> list[tuple[str, str]]:
    """Rewrites, in `document` and its claims file, the numbers of every claim that fails
    against its data; returns (old, new) texts. Words around them are not touched: read
    the diff, a changed number may need a changed sentence."""
    text, path = document.read_text(), claims_file(document, root)
    table = path.read_text()
    changes = []
    for claim in load(document, root)[0]:
        try:
            check(claim, text, root)
        except ClaimError:
            new = updated(claim, root)
            if new != claim.text and _pattern(claim.text).search(text) and _toml_string(claim.text) in table:
                text = _pattern(claim.text).sub(lambda _: new, text)
                table = table.replace(_toml_string(claim.text), _toml_string(new))
                changes.append((claim.text, new))
    if changes:
        document.write_text(text)
        path.write_text(table)
    return changes


def _toml_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # TOML's basic strings escape as JSON's do


def main(paths: list[str]) -> int:
    root = Path.cwd()
    if paths[:1] == ["--update"]:
        for path in map(Path, paths[1:]):
            for old, new in update(path, root):
                print(f"{path}: {old!r} -> {new!r}")
        paths = paths[1:]
    status = 0
    for path in map(Path, paths):
        claims, _ = load(path, root)
        text = path.read_text()
        for claim in claims:
            try:
                check(claim, text, root)
            except ClaimError as e:
                print(f"{path}: claim fails: {e}")
                status = 1
        for line, figure in uncovered(path, root):
            print(f"{path}:{line}: uncovered figure {figure!r}")
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
