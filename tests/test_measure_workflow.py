"""The ``external`` workflow target (rules/external.smk) in a copy of the workflow: one measure
job per config entry, outputs under results/external/NAME/, re-run only when its files or
settings change."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from degeneracy.measure.workflow import ExternalConfigError, measure_kwargs, network_files, schema_fragment

sys.path.insert(0, str(Path(__file__).resolve().parent))
from workflow_copy import REPO, copy_workflow  # noqa: E402


def _net(rng, n=6, trials=8, T=20):
    W = rng.normal(size=(n, n)) * 0.9 / np.sqrt(n)
    Win = rng.normal(size=(n, 1))
    x = rng.normal(size=(trials, T, 1))
    h, hs = np.zeros((trials, n)), []
    for t in range(T):
        h = np.tanh(h @ W.T + x[:, t] @ Win.T)
        hs.append(h)
    return {"W": W, "trajectories": np.stack(hs, 1)}


def _snakemake(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "snakemake", *args], cwd=workdir, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def _workflow(tmp_path: Path) -> Path:
    """A workflow copy that includes rules/external.smk and accepts the ``external`` section
    (added here only while the main Snakefile / schema do not have them yet)."""
    (tmp_path / "wf").mkdir()
    d = copy_workflow(tmp_path / "wf")
    snakefile = (d / "Snakefile").read_text()
    if "rules/external.smk" not in snakefile:
        (d / "Snakefile").write_text(snakefile + '\n\ninclude: "rules/external.smk"\n')
    schema_path = d / "schemas" / "config.schema.yaml"
    schema = yaml.safe_load(schema_path.read_text())
    if "external" not in schema["properties"]:
        schema["properties"]["external"] = schema_fragment()
        schema_path.write_text(yaml.safe_dump(schema))
    return d


def test_schema_in_the_repository_matches_the_entry_keys():
    schema = yaml.safe_load((REPO / "schemas" / "config.schema.yaml").read_text())
    if "external" in schema["properties"]:  # once the section is in the study schema, it must agree
        assert schema["properties"]["external"] == schema_fragment()


def test_entry_settings_map_to_measure_arguments(tmp_path):
    spec = {"networks": "x/*.npz", "group_by": "delay", "levels": [1, 2], "dsa": {"rank": 4, "noise_floor": False}}
    assert measure_kwargs("e", spec) == {"group_by": "delay", "levels": ["1", "2"], "dsa_rank": 4, "dsa_null": False}
    with pytest.raises(ExternalConfigError, match=r"external\.e: unknown key\(s\) \['group'\]"):
        measure_kwargs("e", {"networks": "x", "group": "a"})
    with pytest.raises(ExternalConfigError, match="missing key 'networks'"):
        network_files("e", {"format": "npz"})
    (tmp_path / "a.pt").write_bytes(b"")
    (tmp_path / "a.npz").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("")
    assert network_files("e", {"networks": str(tmp_path)}) == [str(tmp_path / "a.npz"), str(tmp_path / "a.pt")]


def test_external_target_runs_and_reruns_only_on_change(tmp_path):
    d = _workflow(tmp_path)
    rng = np.random.default_rng(0)
    data = d / "data"
    data.mkdir()
    for i in range(4):
        np.savez(data / f"net{i}.npz", **_net(rng), group=["a", "b"][i % 2])
    config = yaml.safe_load((REPO / "configs" / "test.yaml").read_text())
    config["external"] = {
        "mine": {
            "networks": "data/*.npz",
            "levels": ["a", "b"],
            "n_boot": 50,
            "weight_restarts": 1,
            "dsa": {"rank": 4, "n_delays": 3},
        },
    }
    cfg = d / "ext.yaml"
    cfg.write_text(yaml.safe_dump(config))
    _snakemake(d, "external", "--cores", "1", "--configfile", str(cfg))
    out = d / "results" / "external" / "mine"
    for f in (
        "networks.parquet",
        "pairwise.parquet",
        "distances.parquet",
        "summary.parquet",
        "effects.parquet",
        "report.md",
        "mds_dsa.png",
        "distances.png",
    ):
        assert (out / f).exists(), f
    assert pd.read_parquet(out / "summary.parquet")["condition"].tolist() == ["a", "b"]
    assert (d / "results" / "external" / "logs" / "mine.log").read_text().strip().endswith("s")

    assert "Nothing to be done" in _snakemake(d, "external", "-n", "--configfile", str(cfg)).stdout
    # a changed setting re-runs the entry
    config["external"]["mine"]["n_boot"] = 60
    cfg.write_text(yaml.safe_dump(config))
    assert "measure_external" in _snakemake(d, "external", "-n", "--configfile", str(cfg)).stdout
