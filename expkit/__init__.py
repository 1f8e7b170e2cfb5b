"""expkit: the JAX-free core every experiment of the suite shares.

config (TOML -> frozen dataclass, validated), results (crash-safe CSV and JSON),
lifecycle (one run directory's meta.json from start to finish, done groups), cli
(--config/--out/--set, one-line errors, exit codes), provenance (commit, host, JAX),
fits (slopes, ratios and power laws with intervals), worker (a measuring process that
dies with its parent). Importing any of them
starts neither JAX nor matplotlib.
"""
