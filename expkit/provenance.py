"""What produced a result: code version, host, and (on request) the JAX backend.

Every run's meta.json carries `host_info()` and, from the process that ran JAX,
`jax_info()`. The commit comes from git when the code sits in a git work tree, with
`git_dirty` saying whether tracked files differed from it. A copy of the tree (shipped
to a GPU machine) names its commit through the `EXPKIT_GIT_COMMIT` environment variable,
recorded as such; when set, it wins over a `.git` in the copy, which may be stale (a
copy made by syncing a work tree can carry an older `.git` than the files it holds),
and the head that `.git` named is kept as `git_head_seen`. A committed reference run must say
`git_dirty: false`: a dirty or unknown tree is not a reproducible source.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

COMMIT_ENV = "EXPKIT_GIT_COMMIT"
"""Names the commit of a tree that has no `.git` (e.g. `EXPKIT_GIT_COMMIT=$(git rev-parse HEAD)`)."""


def cpu_name() -> str:
    """The CPU's model name from /proc/cpuinfo, else what `platform` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def git_state(root: str | Path | None = None) -> dict[str, Any]:
    """{"git_commit", "git_dirty", "git_source"} of the code at `root` (this checkout by default).

    git_source is "git" (read from the work tree), "env" (from EXPKIT_GIT_COMMIT, which
    wins when set; dirtiness unknown, None; a different head in the copy's .git is kept
    as git_head_seen) or "none" (commit "unknown").
    """
    root = Path(root) if root is not None else Path(__file__).resolve().parent.parent
    from_git = None
    try:
        def git(*args: str) -> str:
            return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True,
                                  check=True).stdout.strip()

        head = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
        from_git = {"git_commit": head, "git_dirty": dirty, "git_source": "git"}
    except (OSError, subprocess.CalledProcessError):
        pass
    passed = os.environ.get(COMMIT_ENV, "").strip()
    if passed and not (from_git and from_git["git_commit"] == passed):
        seen = {"git_head_seen": from_git["git_commit"]} if from_git else {}
        return {"git_commit": passed, "git_dirty": None, "git_source": "env", **seen}
    return from_git or {"git_commit": "unknown", "git_dirty": None, "git_source": "none"}


def host_info() -> dict[str, Any]:
    """Python, OS, CPU and code version: everything that does not need JAX."""
    return {
        "python": sys.version.split()[0],
        "cpu": cpu_name(),
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        **git_state(),
    }


def jax_info() -> dict[str, Any]:
    """JAX's versions, backend and device; imports JAX (call it where JAX runs)."""
    import jax
    import jaxlib

    device = jax.devices()[0]
    return {
        "jax": jax.__version__,
        "jaxlib": jaxlib.__version__,
        "backend": jax.default_backend(),
        "platform_name": device.platform,
        "device": getattr(device, "device_kind", str(device)),
        "device_count": jax.device_count(),
        "x64": bool(jax.config.jax_enable_x64),
        "matmul_precision": str(jax.config.jax_default_matmul_precision or "default"),
    }


def environment_info() -> dict[str, Any]:
    """`host_info()` and `jax_info()` together: what meta.json's "environment" holds."""
    return {**host_info(), **jax_info()}
