"""The published figures this study stands beside, each with its source.

Dagréou, Ablin, Vaiter & Moreau, "How to compute Hessian-vector products?", ICLR 2024
Blogposts track (https://iclr-blogposts.github.io/2024/blog/bench-hvp/). Their setup:
one A100 40 GB, JAX 0.4.21 (jit) and PyTorch 2.1.1 (`torch.func`, no compile); Hugging
Face ResNet34 (224x224 images), ViT-base (96x96) and BERT-base (sequence 32), random
inputs; the median of 90 runs of each call.

The times below are the medians of the raw timings stored in their repository
(MatDag/bench_hvp, commit 17b5ecd, outputs/bench_hvp_time_{jax,torch}.parquet). They
store an HVP's time minus a gradient's (the HVP's overhead), so an HVP over a gradient is
1 + overhead / gradient, which is what this suite's ratios are. Two things the published
page does not say: its bar plots show batch 64 (the text names 128; both are here), and
in both time figures the bars labelled ViT hold BERT's data and the reverse (the plotting
code sorts bars and labels differently). Their data also hold a ResNet50, which the post
does not show (medians to 4 digits). The memory ratios are read off their figures
(batch 64, JAX with jit; no stored data), to about ±0.01.

curvlinops' benchmark page (https://curvlinops.readthedocs.io, "Benchmarking linear
operators", results stored at commit 8d689b9, Oct. 2025, RTX A6000, PyTorch eager):
the Hessian product over a gradient, ResNet50 at batch 64 and nanoGPT (GPT-2 small
size) at 4 sequences of 1024 tokens.
"""

from __future__ import annotations

import pandas as pd

REFERENCE_COLUMNS = ["source", "framework", "model", "batch", "method", "gradient_s", "time_s", "time_ratio",
                     "memory_ratio"]
DAGREOU = "Dagréou et al. 2024"
CURVLINOPS = "curvlinops docs"
METHOD_OF = {"fwd_rev": "hvp_fwd_rev", "rev_fwd": "hvp_rev_fwd", "rev_rev": "hvp_rev_rev"}
MODEL_OF = {"resnet34": "resnet", "vit": "vit", "bert": "gpt"}
"""Their model beside which of ours: BERT is an encoder, our decoder the nearest transformer on text."""

# framework, model, batch: gradient median (s), then the overhead medians (s) of fwd_rev, rev_fwd, rev_rev.
_DAGREOU_TIMES = """
jax resnet34 64 0.0347660 0.0472022 0.0474873 0.0536856
jax vit 64 0.0341064 0.0454211 0.0491514 0.0495036
jax bert 64 0.0258120 0.0323296 0.0346798 0.0333548
jax resnet34 128 0.0650019 0.0905884 0.0911799 0.1006548
jax vit 128 0.0575067 0.0817102 0.0845764 0.0870350
jax bert 128 0.0411968 0.0537096 0.0579330 0.0604683
torch resnet34 64 0.0354311 0.0769254 0.0641865 0.1045808
torch vit 64 0.1027351 0.2661013 0.2172464 0.2318531
torch bert 64 0.0895531 0.2352999 0.1928692 0.2028733
torch resnet34 128 0.0643671 0.1355628 0.1153594 0.1941813
torch vit 128 0.1898352 0.4656481 0.3868796 0.4279650
torch bert 128 0.1646025 0.4136295 0.3414868 0.3865549
jax resnet50 64 0.05772 0.08121 0.08277 0.40338
torch resnet50 64 0.05781 0.13976 0.12186 0.20890
"""
# JAX with jit, batch 64: peak GPU memory (GiB) of the gradient, then of fwd_rev, rev_fwd, rev_rev, read off the figure.
_DAGREOU_MEMORY = {"resnet34": (1.85, 3.69, 3.71, 3.69), "vit": (2.23, 3.94, 4.01, 3.98),
                   "bert": (2.05, 3.82, 3.81, 3.51)}
# model, batch, gradient (s), Hessian product (s), peak memory ratio.
_CURVLINOPS = (("resnet50", 64, 0.2651, 1.1318, 12.75 / 5.41), ("nanogpt", 4, 0.7824, 2.9114, 17.49 / 6.57))


def reference_table() -> pd.DataFrame:
    """One row per published (source, framework, model, batch, method): times and ratios to the gradient."""
    rows = []
    for line in _DAGREOU_TIMES.strip().splitlines():
        framework, model, batch, gradient, *overheads = line.split()
        gradient = float(gradient)
        for method, overhead in zip(("fwd_rev", "rev_fwd", "rev_rev"), map(float, overheads)):
            memory = _DAGREOU_MEMORY.get(model) if framework == "jax" and batch == "64" else None
            rows.append({"source": DAGREOU, "framework": framework, "model": model, "batch": int(batch),
                         "method": METHOD_OF[method], "gradient_s": gradient, "time_s": gradient + overhead,
                         "time_ratio": 1 + overhead / gradient,
                         "memory_ratio": memory[1 + list(METHOD_OF).index(method)] / memory[0] if memory else None})
    for model, batch, gradient, hvp, memory in _CURVLINOPS:
        rows.append({"source": CURVLINOPS, "framework": "torch", "model": model, "batch": batch,
                     "method": "hvp_fwd_rev", "gradient_s": gradient, "time_s": hvp, "time_ratio": hvp / gradient,
                     "memory_ratio": memory})
    return pd.DataFrame(rows, columns=REFERENCE_COLUMNS)
