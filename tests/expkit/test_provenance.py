"""Provenance: the commit and whether the tree was dirty, or a commit passed in from outside git."""

import subprocess

import pytest

from expkit import provenance


def git(cwd, *args):
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path):
    git(tmp_path, "init", "-q")
    git(tmp_path, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-q", "--allow-empty", "-m", "x")
    (tmp_path / "f.txt").write_text("a")
    git(tmp_path, "add", "f.txt")
    git(tmp_path, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-q", "-m", "y")
    return tmp_path


def test_clean_and_dirty_trees(repo, monkeypatch):
    monkeypatch.delenv(provenance.COMMIT_ENV, raising=False)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True).stdout.strip()
    assert provenance.git_state(repo) == {"git_commit": head, "git_dirty": False, "git_source": "git"}
    monkeypatch.setenv(provenance.COMMIT_ENV, head)  # the same commit named twice: git's record
    assert provenance.git_state(repo) == {"git_commit": head, "git_dirty": False, "git_source": "git"}
    monkeypatch.delenv(provenance.COMMIT_ENV)
    (repo / "f.txt").write_text("changed")
    assert provenance.git_state(repo)["git_dirty"] is True
    (repo / "untracked.txt").write_text("new")  # untracked files do not make a tree dirty
    (repo / "f.txt").write_text("a")
    assert provenance.git_state(repo)["git_dirty"] is False


def test_the_environment_wins_over_a_stale_git_in_a_copy(repo, monkeypatch):
    # A copy of the tree whose .git is older than its files: without the variable, runs
    # made from a later commit would be recorded as that older one, "dirty".
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True).stdout.strip()
    monkeypatch.setenv(provenance.COMMIT_ENV, "0123abc")
    assert provenance.git_state(repo) == {"git_commit": "0123abc", "git_dirty": None, "git_source": "env",
                                          "git_head_seen": head}


def test_a_copy_without_git_names_its_commit_through_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(provenance.COMMIT_ENV, "0123abc")
    assert provenance.git_state(tmp_path) == {"git_commit": "0123abc", "git_dirty": None, "git_source": "env"}
    monkeypatch.delenv(provenance.COMMIT_ENV)
    assert provenance.git_state(tmp_path) == {"git_commit": "unknown", "git_dirty": None, "git_source": "none"}


def test_jax_info_names_backend_and_precision():
    info = provenance.environment_info()
    assert info["backend"] == "cpu" and info["platform_name"] == "cpu"
    assert {"jax", "jaxlib", "git_commit", "git_dirty", "matmul_precision", "x64"} <= set(info)
