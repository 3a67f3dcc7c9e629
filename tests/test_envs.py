"""The conda environments (envs/*.yaml, used by --software-deployment-method conda on clusters)
pin exactly the versions of the lock file (requirements.lock, pip freeze of the development venv),
and the `cluster` extra installs the pinned SLURM executor plugin."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
ENV_FILES = sorted((REPO / "envs").glob("*.yaml"))


def _norm(name: str) -> str:
    """PEP 503 normalised project name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _lock() -> dict[str, str]:
    pins = {}
    for line in (REPO / "requirements.lock").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            pins[_norm(name)] = version.strip()
    return pins


def _env_pins(path: Path) -> tuple[dict[str, str], list[str], str | None]:
    """(pip pins name -> version, unpinned entries, python version) of a conda env file."""
    env = yaml.safe_load(path.read_text())
    pins, unpinned, python = {}, [], None
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            for req in dep.get("pip", []):
                if req.startswith("-"):  # --extra-index-url etc.
                    continue
                if "==" in req:
                    name, version = req.split("==", 1)
                    pins[_norm(name)] = version.strip()
                else:
                    unpinned.append(req)
        elif dep.startswith("python"):
            python = dep.partition("=")[2] or None
        elif dep != "pip":
            unpinned.append(dep)  # a conda package: must not be there (pins live in pip:)
    return pins, unpinned, python


def test_there_are_env_files():
    names = {p.name for p in ENV_FILES}
    assert {"degeneracy.yaml", "snakemake.yaml"} <= names


@pytest.mark.parametrize("path", ENV_FILES, ids=lambda p: p.name)
def test_env_matches_lock(path):
    lock = _lock()
    pins, unpinned, python = _env_pins(path)
    assert pins, f"{path.name} pins nothing"
    assert not unpinned, f"{path.name}: unpinned dependencies {unpinned}"
    mismatched = {n: (v, lock.get(n)) for n, v in pins.items() if lock.get(n) != v}
    assert not mismatched, f"{path.name} vs requirements.lock (env, lock): {mismatched}"
    assert python == f"{sys.version_info.major}.{sys.version_info.minor}", (
        f"{path.name} asks for python {python}; the lock was frozen with "
        f"{sys.version_info.major}.{sys.version_info.minor}"
    )


def test_job_env_has_the_library_dependencies():
    """Every runtime dependency of the package is pinned in the jobs' environment."""
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    pins, _, _ = _env_pins(REPO / "envs" / "degeneracy.yaml")
    deps = {_norm(re.split(r"[<>=!~\[ ;]", d, 1)[0]) for d in project["dependencies"]}
    assert deps <= set(pins), f"missing from envs/degeneracy.yaml: {deps - set(pins)}"


def test_cluster_extra_installs_the_pinned_plugin():
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    lock = _lock()
    cluster = project["optional-dependencies"]["cluster"]
    pinned = {}
    for req in cluster:
        if "==" in req:
            name, version = req.split("==", 1)
            pinned[_norm(name)] = version
    assert "snakemake-executor-plugin-slurm" in pinned
    for name, version in pinned.items():
        assert lock.get(name) == version, f"cluster extra {name}=={version} vs lock {lock.get(name)}"
    # the login-node environment installs the same plugin versions
    env_pins, _, _ = _env_pins(REPO / "envs" / "snakemake.yaml")
    for name, version in pinned.items():
        assert env_pins.get(name) == version
    assert env_pins.get("snakemake") == lock["snakemake"]
