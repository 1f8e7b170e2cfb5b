"""What an HVP costs on a ResNet, a ViT, a GPT-style decoder and a wide MLP; see hvp_models/study.py.

    python scripts/run_hvp_models.py --config configs/hvp_models.toml [--out DIR] [--set key=value]
"""

from hvp_models.study import cli

if __name__ == "__main__":
    cli()
