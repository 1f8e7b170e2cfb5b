"""What a Hessian-vector product costs on the models people train: a ResNet, a ViT, a GPT-style
decoder and the homework's MLP at width 256, beside Dagréou et al. (ICLR 2024 blog).

- catalog: the models' sizes and the methods' names, without JAX (configs are checked first);
- zoo: the models (flax nnx; the MLP is secondorder's), their parameters as pytrees;
- methods: the gradient and each product, as timed functions through secondorder;
- config, study: the study of the one driver (expkit.study), `hvp-models`;
- summary (paired ratios, compiled cost; no matplotlib), plots, reference (the
  published figures), headlines (what README and docs/hvp_models.md quote).

Needs the `models` extra (flax): `pip install -e ".[models]"`.
"""
