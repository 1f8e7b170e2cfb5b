"""Every figure of README.md and docs/*.md: written by code, or a claim checked against its data."""

from pathlib import Path

import pytest

from expkit.claims import Claim, ClaimError, check, load, matches, numbers, reprint, uncovered, update

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


@pytest.mark.parametrize("word, value, ok", [
    ("2.27", 2.2651, True), ("2.27", 2.2749, True), ("2.27", 2.276, False), ("4.6e-13", 4.64e-13, True),
    ("4.6e-13", 4.66e-13, False), ("1,546", 1546.4, True), ("−0.5", -0.5, True), ("7", 7.6, False),
    ("0.035", float("nan"), False),
])
def test_a_number_matches_a_value_at_the_precision_it_is_printed(word, value, ok):
    assert matches(word, value) is ok


def test_a_step_widens_the_match_to_a_stated_rounding():
    assert matches("1500", 1546, step=100) and not matches("1500", 1551, step=100)


def test_numbers_are_read_in_order_skipping_words_that_contain_digits():
    assert numbers("H100: 24.1× [18.1, 35.1] at width 4, x64, float32, 1,500 HVPs, 4.6e-13, 1.9x, 4x4") == [
        "24.1", "18.1", "35.1", "4", "1,500", "4.6e-13", "1.9"]


def test_a_claim_is_checked_against_its_data(tmp_path):
    (tmp_path / "r.csv").write_text("method,ratio,lo\nhvp,1.349,0.93\ngrad,1.0,0.7\n")
    claim = Claim("1.35× [0.93]", "r.csv", ("ratio", "lo"), where="method == 'hvp'")
    check(claim, "costs 1.35× [0.93] a layer", tmp_path)
    check(claim, "costs 1.35×\n[0.93] a layer", tmp_path)  # wrapped differently
    for wrong, why in [(Claim("1.36× [0.93]", "r.csv", ("ratio", "lo"), "method == 'hvp'"), "1.36 is 1.349"),
                       (Claim("1.35× [0.93]", "r.csv", ("ratio",), "method == 'hvp'"), "2 numbers"),
                       (Claim("1.35× [0.93]", "r.csv", ("ratio", "lo"), "method == 'x'"), "no row"),
                       (Claim("1.35× [0.93]", "gone.csv", ("ratio", "lo")), "does not exist")]:
        with pytest.raises(ClaimError, match=why):
            check(wrong, "costs 1.36× [0.93] and 1.35× [0.93]", tmp_path)
    with pytest.raises(ClaimError, match="not in the document"):
        check(claim, "costs 1.4× a layer", tmp_path)


def test_uncovered_figures_are_found_outside_code_and_claims(tmp_path):
    (tmp_path / "docs" / "claims").mkdir(parents=True)
    (tmp_path / "r.json").write_text('{"t": 2.27}')
    doc = tmp_path / "docs" / "x.md"
    doc.write_text("It takes 2.27 s, then 5 ms, on 2 cores; `0.5 ms` in code.\n"
                   "<!-- headlines:p r -->\n9.9 s\n<!-- /headlines -->\n```\n3.3 s\n```\nsee [a](b/1.5.png), 95% CI\n")
    assert [f for _, f in uncovered(doc, tmp_path)] == ["2.27 s", "5 ms", "95%"]
    (tmp_path / "docs" / "claims" / "x.toml").write_text(
        '[[claim]]\ntext = "2.27 s"\nsource = "r.json"\nvalues = ["data[\'t\']"]\n'
        '[[exempt]]\ntext = "5 ms"\nwhy = "a setting"\n[[exempt]]\ntext = "95% CI"\nwhy = "a level"\n')
    assert uncovered(doc, tmp_path) == []
    claims, _ = load(doc, tmp_path)
    check(claims[0], doc.read_text(), tmp_path)


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: p.name)
def test_every_claim_holds(document):
    claims, _ = load(document, ROOT)
    text = document.read_text()
    failed = []
    for claim in claims:
        try:
            check(claim, text, ROOT)
        except ClaimError as e:
            failed.append(str(e))
    assert not failed, f"{document.name}: " + "; ".join(failed)


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: p.name)
def test_every_figure_is_written_by_code_or_a_checked_claim(document):
    missing = uncovered(document, ROOT)
    assert not missing, (f"{document.name}: figures neither written by code nor listed in "
                         f"docs/claims/{document.stem}.toml: " + ", ".join(f"line {n}: {f}" for n, f in missing[:20]))


@pytest.mark.parametrize("word, value, step, shown", [
    ("3.6", 7.2149, None, "7.2"), ("3.4e36", 2.108e36, None, "2.1e36"), ("7.8e-14", 7.63e-14, None, "7.6e-14"),
    ("88", 93.75, None, "94"), ("1,546", 1234.6, None, "1,235"), ("−0.5", -0.73, None, "−0.7"),
    ("1500", 1546, 100, "1500"),
])
def test_a_value_is_reprinted_in_the_form_of_the_number_it_replaces(word, value, step, shown):
    assert reprint(word, value, step) == shown


def test_update_rewrites_a_failing_claims_numbers_in_the_document_and_its_file(tmp_path):
    (tmp_path / "docs" / "claims").mkdir(parents=True)
    (tmp_path / "r.csv").write_text("method,ratio,lo\nhvp,2.04,1.51\n")
    doc = tmp_path / "docs" / "x.md"
    doc.write_text("It costs 1.35× [0.93,\nwider] a layer, at 50 layers.\n")
    (tmp_path / "docs" / "claims" / "x.toml").write_text(
        '[[claim]]\ntext = "1.35× [0.93, wider] a layer, at 50"\nsource = "r.csv"\nvalues = ["ratio", "lo", "-"]\n')
    assert update(doc, tmp_path) == [("1.35× [0.93, wider] a layer, at 50", "2.04× [1.51, wider] a layer, at 50")]
    assert "2.04× [1.51, wider] a layer, at 50 layers" in doc.read_text()
    claims, _ = load(doc, tmp_path)
    check(claims[0], doc.read_text(), tmp_path)
    assert update(doc, tmp_path) == []  # holds now: nothing to do
