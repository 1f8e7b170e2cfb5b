"""Variant names: parsed, spelled back canonically, and refused with the bad token named."""

import pytest

from hvp_bench.variants import Variant, describe, parse_variant


@pytest.mark.parametrize("text, variant", [
    ("scan", Variant()),
    ("unrolled", Variant(form="unrolled")),
    ("scan-u8", Variant(unroll=8)),
    ("fori-fused-jvp-u4", Variant(form="fori", unroll=4, product="fused", rule="custom_jvp")),
    ("scan-u2-exact-fused", Variant(unroll=2, product="fused", activation="exact")),
    ("scan-k16-fused", Variant(product="fused", vectors=16)),
    ("scan-remat-jvp-fused", Variant(product="fused", rule="custom_jvp", remat=True)),
    ("scan-fused-jvp-remat-logistic-k16", Variant(product="fused", rule="custom_jvp", remat=True,
                                                  activation="logistic", vectors=16)),
    ("scan-tanh", Variant()),
    ("torch", Variant(form="torch")),
    ("torch-func", Variant(form="torch", torch_mode="func")),
    ("torch-compile", Variant(form="torch", torch_mode="compile")),
])
def test_names_parse_and_spell_back(text, variant):
    assert parse_variant(text) == variant
    assert parse_variant(variant.name) == variant


@pytest.mark.parametrize("text, match", [
    ("loop", "must start with one of scan, unrolled, fori"),
    ("scan-u0", "unknown token 'u0'"),
    ("scan-fast", "unknown token 'fast'"),
    ("scan-u2-u4", "sets its unroll twice"),
    ("unrolled-u4", "the unrolled form has no unroll factor"),
    ("scan-k0", "unknown token 'k0'"),
    ("scan-logistic-exact", "sets its activation twice"),
    ("scan-compile", "unknown token 'compile'"),
    ("torch-fused", "the torch form is 'torch', 'torch-func' or 'torch-compile'"),
    ("torch-compile-func", "the torch form is"),
    ("torch-u2", "the torch form is"),
])
def test_bad_names(text, match):
    with pytest.raises(ValueError, match=match):
        parse_variant(text)


def test_only_the_torch_form_is_pytorchs():
    assert [parse_variant(name).is_torch for name in ("scan", "fori-fused", "torch", "torch-compile")] == [
        False, False, True, True]
    with pytest.raises(ValueError, match="build it with hvp_bench.torch_peer"):
        parse_variant("torch-func").model_kwargs()


@pytest.mark.parametrize("text, words", [
    ("scan", "plain layers in one compiled loop"),
    ("scan-fused-jvp-remat", "fused products, hand-written JVP, recomputed backward"),
    ("scan-fused-jvp-remat-u4", "fused products, hand-written JVP, recomputed backward, loop unrolled 4x"),
    ("fori-exact", "a fori_loop that indexes the weights, exact (erf) GELU"),
    ("unrolled-k16", "a Python loop as in the assignment, one block of code per layer, 16 vectors per call"),
    ("torch-compile", "PyTorch, compiled by torch.compile"),
    ("not-a-variant", "not-a-variant"),
])
def test_variant_names_in_plain_words(text, words):
    assert describe(text) == words
