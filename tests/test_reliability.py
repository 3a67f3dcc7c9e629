"""Reliability of the workflow (docs/reliability.md): interrupted runs, diverging and
non-converging networks, corrupt intermediates, determinism, atomic writers.

Two runs of a small study (RELIABILITY_CONFIG, study ``reliability``, outputs in
results/reliability/: the test study's settings, one condition that converges, one that diverges
(lr 1e30) and two that run out of budget) in temporary copies of one snapshot of the workflow
(same code for both, whatever changes in the repository meanwhile), never the repository's
results/:

- ``clean``: from scratch, uninterrupted;
- ``resumed``: from scratch, killed with SIGKILL (snakemake and its running training job) in the
  middle of the long training job, then resumed with the documented commands.

Their outputs must be equal (final tables, checkpoints' tensors byte for byte), which also checks
determinism (two from-scratch runs). The corrupt-file check then runs on the resumed copy.
"""

from __future__ import annotations

import ast
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
from degeneracy.conditions import FIGURE_NAMES  # noqa: E402
from workflow_copy import copy_workflow  # noqa: E402

pytestmark = pytest.mark.slow

OK = "flipflop-ch1-standard-n8"
DIVERGED = "flipflop-ch1-standard-n8-lr1e30"
BUDGET = "flipflop-ch1-standard-n8-ep300-threshold1e-12"
STUDY = "reliability"
OUT = f"results/{STUDY}"

_test = yaml.safe_load((REPO / "configs" / "test.yaml").read_text())
RELIABILITY_CONFIG = {
    "study": STUDY,
    "experiments": {
        # "complexity" so that fig5 shows it; lr 1e30 diverges
        "complexity": {
            "factor": "channels",
            "tasks": ["flipflop"],
            "parameter": "training.lr",
            "levels": [1.0e-2, 1.0e30],
            "seeds": 2,
            "model": {"kind": "standard", "n_units": 8},
        },
        # far too small budgets for the threshold: not_converged; 300 epochs is slow enough to be
        # killed (every experiment needs 2 levels and 2 seeds)
        "budget": {
            "factor": "channels",
            "tasks": ["flipflop"],
            "parameter": "training.max_epochs",
            "levels": [2, 300],
            "seeds": 2,
            "model": {"kind": "standard", "n_units": 8},
            "settings": {"training": {"threshold": 1.0e-12}},
        },
    },
    "training": _test["training"],
    "tasks": {"flipflop": _test["tasks"]["flipflop"]},
    "weights": _test["weights"],
    "aggregate": _test["aggregate"],
    "figures": {
        **{name: {"enabled": False} for name in FIGURE_NAMES if name != "fig5"},
        "fig5": {"experiments": ["complexity"], "rc": {"savefig.dpi": 40}},
    },
}


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory) -> Path:
    """One copy of the workflow that both runs start from: they run the same code."""
    return copy_workflow(tmp_path_factory.mktemp("snapshot"))


def _copy_repo(dest: Path, source: Path) -> Path:
    copy_workflow(dest, source)
    (dest / "reliability.yaml").write_text(yaml.safe_dump(RELIABILITY_CONFIG, sort_keys=False))
    return dest


def _snakemake(workdir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "snakemake", *args, "--configfile", "reliability.yaml"]
    proc = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


def _resume(workdir: Path) -> None:
    """The documented recovery (docs/reliability.md): unlock, then the same command."""
    _snakemake(workdir, "--unlock")
    _snakemake(workdir, "--cores", "2", "--rerun-incomplete")


@pytest.fixture(scope="module")
def clean(tmp_path_factory, snapshot) -> Path:
    d = _copy_repo(tmp_path_factory.mktemp("clean"), snapshot)
    _snakemake(d, "--cores", "2")
    return d


@pytest.fixture(scope="module")
def resumed(tmp_path_factory, snapshot, clean) -> dict:
    d = _copy_repo(tmp_path_factory.mktemp("resumed"), snapshot)
    proc = subprocess.Popen(
        [sys.executable, "-m", "snakemake", "--cores", "2", "--configfile", "reliability.yaml"],
        cwd=d,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    job_log = d / OUT / "logs" / "train" / BUDGET / "seed0.log"
    ckpt = d / OUT / "train" / BUDGET / "seed0.pt"
    deadline = time.time() + 240
    try:
        # wait until the long training job has started and trained for a while
        while time.time() < deadline and proc.poll() is None:
            if job_log.exists() and "rule train" in job_log.read_text():
                break
            time.sleep(0.2)
        time.sleep(3.0)
        state = {"checkpoint_existed": ckpt.exists(), "finished_before_kill": proc.poll() is not None}
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # snakemake and its running jobs (same group)
        except ProcessLookupError:
            pass
        proc.wait()
    state["incomplete_markers"] = len(list((d / ".snakemake" / "incomplete").glob("*")))
    state["stale_lock"] = any((d / ".snakemake" / "locks").glob("*"))
    _resume(d)
    state["dir"] = d
    return state


def _tables(workdir: Path) -> dict[str, pd.DataFrame]:
    """Every Parquet output (train logs without wall-clock times)."""
    out = {}
    for path in sorted((workdir / "results").rglob("*.parquet")):
        df = pd.read_parquet(path)
        if "elapsed_s" in df.columns:
            df = df.drop(columns="elapsed_s")
        out[str(path.relative_to(workdir))] = df
    return out


def _checkpoint_bytes(path: Path) -> dict[str, bytes]:
    import torch

    ck = torch.load(path, map_location="cpu", weights_only=True)
    out = {}
    for which in ("init_state", "final_state"):
        for k, t in ck[which].items():
            out[f"{which}.{k}"] = t.contiguous().numpy().tobytes()
    for k in ("status", "seed", "epochs", "steps", "final_loss", "config"):
        out[k] = repr(ck[k]).encode()
    return out


# ------------------------------------------------------------------ interrupted runs


def test_kill_happened_in_the_middle_of_training(resumed):
    assert not resumed["finished_before_kill"]
    assert not resumed["checkpoint_existed"], "the kill came too late: the checkpoint was already written"
    assert resumed["stale_lock"]  # why the documented recovery starts with --unlock


def test_no_temporary_or_truncated_files_left(resumed, clean):
    for d in (resumed["dir"], clean):
        leftovers = [p for p in (d / "results").rglob("*") if p.name.startswith(".") and ".tmp" in p.name]
        assert not leftovers, leftovers


def test_resumed_run_equals_uninterrupted_run(resumed, clean):
    a, b = _tables(clean), _tables(resumed["dir"])
    assert sorted(a) == sorted(b)
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name], check_exact=True, obj=name)
    figs = sorted(p.name for p in (clean / OUT / "figures").iterdir())
    assert figs == ["fig5.pdf", "fig5.png"]
    assert figs == sorted(p.name for p in (resumed["dir"] / OUT / "figures").iterdir())
    # every output of the study under its own folder
    assert [p.name for p in (clean / "results").iterdir()] == [STUDY]


def test_checkpoints_are_deterministic(resumed, clean):
    """Two from-scratch runs: byte-identical tensors (and identical checkpoint files)."""
    ckpts = sorted((clean / OUT / "train").rglob("*.pt"))
    assert len(ckpts) == 8  # 4 conditions x 2 seeds
    same_files = 0
    for path in ckpts:
        other = resumed["dir"] / path.relative_to(clean)
        assert _checkpoint_bytes(path) == _checkpoint_bytes(other), path
        same_files += path.read_bytes() == other.read_bytes()
    # torch.save output also depends on the versions recorded; same machine -> same bytes
    assert same_files == len(ckpts)


def test_nothing_left_to_do_after_resume(resumed):
    proc = _snakemake(resumed["dir"], "-n")
    assert "Nothing to be done" in proc.stdout + proc.stderr


# ------------------------------------------------------------------ diverging / not converging


def test_statuses_and_exclusion(clean):
    nets = pd.read_parquet(clean / OUT / "networks.parquet").set_index(["condition", "seed"])
    assert (nets.loc[OK, "status"] == "converged").all()
    assert (nets.loc[DIVERGED, "status"] == "diverged").all()
    assert (nets.loc[BUDGET, "status"] == "not_converged").all()
    assert nets.loc[DIVERGED, "ood_mse"].isna().all()
    pw = pd.read_parquet(clean / OUT / "pairwise.parquet")
    assert set(pw["condition"]) == {OK}  # excluded networks enter no metric
    ops = pd.read_parquet(clean / OUT / "dsa" / DIVERGED / "operators.parquet")
    assert ops.empty


def test_summary_counts_and_nan_with_reason(clean):
    s = pd.read_parquet(clean / OUT / "summary" / "complexity.parquet").set_index("condition")
    assert s.loc[OK, "n_converged"] == 2 and s.loc[OK, "n_excluded"] == 0
    assert np.isfinite(s.loc[OK, "dsa_mean"]) and np.isfinite(s.loc[OK, "weight_mean"])
    d = s.loc[DIVERGED]
    assert (d["n_seeds"], d["n_converged"], d["n_excluded"], d["n_diverged"]) == (2, 0, 2, 2)
    assert np.isnan(d["dsa_mean"]) and np.isnan(d["weight_mean"]) and np.isnan(d["behavior_sd"])
    assert "2 diverged" in d["note"] and "fewer than 2 converged" in d["note"]
    b = pd.read_parquet(clean / OUT / "summary" / "budget.parquet").set_index("condition").loc[BUDGET]
    assert (b["n_converged"], b["n_not_converged"]) == (0, 2)
    assert "2 of 2 networks excluded (0 diverged, 2 not below threshold)" in b["note"]


def test_figure_shows_excluded_count(clean, monkeypatch):
    """fig5 of the run's summary: the diverged level has no value, and each panel names it with
    how many of its networks converged (0 of 2); the converged level is drawn."""
    import matplotlib

    matplotlib.use("Agg")
    from degeneracy.figures import factors

    captured = {}
    monkeypatch.setattr(factors, "save", lambda fig, png, pdf: captured.setdefault("fig", fig))
    summary = pd.read_parquet(clean / OUT / "summary" / "complexity.parquet")
    factors.fig5(summary, Path("unused.png"), Path("unused.pdf"))
    panels = [ax for ax in captured["fig"].axes if ax.get_title(loc="left")]
    assert len(panels) == 2  # weight change, kernel alignment
    for ax in panels:
        label = " ".join(ax.get_xlabel().split())  # the note is wrapped over lines
        assert "not shown:" in label and "0 of 2 networks converged" in label, label
        assert "2 of 2" not in label
        assert ax.collections, "the converged level is not drawn"


# ------------------------------------------------------------------ corrupt intermediates


def test_truncated_parquet_names_file_and_fix(resumed):
    d = resumed["dir"]
    victim = d / OUT / "extract" / OK / "seed1" / "trajectories.parquet"
    victim.write_bytes(victim.read_bytes()[:100])  # truncated by hand
    proc = _snakemake(d, "--cores", "1", f"{OUT}/dsa/{OK}/operators.parquet", check=False)
    rel = f"{OUT}/extract/{OK}/seed1/trajectories.parquet"
    assert proc.returncode != 0
    console = proc.stdout + proc.stderr
    line = next(ln for ln in console.splitlines() if "failed: CorruptFileError" in ln)
    assert rel in line and "rule dsa_fit" in line
    # the advice: delete the file and make it again, with the commands spelt out for this file
    assert "delete it and make it again" in line and f"rm '{rel}' && snakemake --cores 2 '{rel}'" in line
    log = (d / OUT / "logs" / "dsa_fit" / f"{OK}.log").read_text()
    assert "CorruptFileError" in log and rel in log
    # the documented fix: delete it and let snakemake regenerate it
    victim.unlink()
    _snakemake(d, "--cores", "2", f"{OUT}/dsa/{OK}/operators.parquet")


def test_truncated_checkpoint_names_file(resumed):
    d = resumed["dir"]
    victim = d / OUT / "train" / OK / "seed0.pt"
    victim.write_bytes(victim.read_bytes()[:200])
    proc = _snakemake(d, "--cores", "1", f"{OUT}/extract/{OK}/seed0/network.parquet", check=False)
    assert proc.returncode != 0
    line = next(ln for ln in (proc.stdout + proc.stderr).splitlines() if "failed: CorruptFileError" in ln)
    rel = f"{OUT}/train/{OK}/seed0.pt"
    assert rel in line and "not a readable checkpoint" in line
    assert "delete it and make it again" in line and f"rm '{rel}'" in line
    assert "rule extract" in line


def test_library_readers_raise_corrupt_file_error(tmp_path):
    from degeneracy.io import CorruptFileError, atomic_write_parquet, load_checkpoint, read_parquet

    p = atomic_write_parquet(pd.DataFrame({"a": [1, 2, 3]}), tmp_path / "t.parquet")
    p.write_bytes(p.read_bytes()[:-20])
    # outside a workflow's results/: re-create it; inside: delete it and let Snakemake make it
    with pytest.raises(CorruptFileError, match="t.parquet: not a readable Parquet file.*re-create it"):
        read_parquet(p)
    q = atomic_write_parquet(pd.DataFrame({"a": [1]}), tmp_path / "results" / "s" / "u.parquet")
    q.write_bytes(q.read_bytes()[:-20])
    with pytest.raises(CorruptFileError, match="u.parquet: not a readable.*delete it and make it again"):
        read_parquet(q)
    with pytest.raises(CorruptFileError, match=r"missing columns \['b'\]"):
        read_parquet(atomic_write_parquet(pd.DataFrame({"a": [1]}), tmp_path / "v.parquet"), columns=["a", "b"])
    with pytest.raises(CorruptFileError, match="none.pt: no such checkpoint") as missing:
        load_checkpoint(tmp_path / "none.pt")
    assert isinstance(missing.value, FileNotFoundError)  # a missing file is also FileNotFoundError
    (tmp_path / "bad.pt").write_bytes(b"PK\x03\x04garbage")
    with pytest.raises(CorruptFileError, match="bad.pt"):
        load_checkpoint(tmp_path / "bad.pt")


# ------------------------------------------------------------------ atomic writers everywhere

WRITERS = ("to_parquet", "torch.save", "savefig", "write_text", "write_bytes", "open", "to_csv", "np.save")


def test_every_writer_is_atomic():
    """Pipeline and wrapper code writes outputs only through degeneracy.io's atomic writers
    (or figures._save, which is atomic); the only plain open() is the job's own log file."""
    files = sorted((REPO / "src" / "degeneracy" / "pipeline").glob("*.py")) + sorted(
        (REPO / "rules" / "scripts").glob("*.py")
    )
    offenders = []
    for path in files:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                name = ast.unparse(node.func)
                if any(name == w or name.endswith("." + w.split(".")[-1]) for w in WRITERS):
                    offenders.append(f"{path.name}:{node.lineno}: {name}")
    assert len(offenders) == 1 and offenders[0].startswith("runner.py:") and offenders[0].endswith(": open"), offenders


def test_atomic_write_leaves_old_file_on_failure(tmp_path):
    from degeneracy.io import atomic_write_parquet

    target = tmp_path / "x.parquet"
    atomic_write_parquet(pd.DataFrame({"a": [1]}), target)

    class Boom(pd.DataFrame):
        def to_parquet(self, *a, **k):
            with open(a[0], "wb") as fh:
                fh.write(b"PAR1 half")
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write_parquet(Boom({"a": [2]}), target)
    assert pd.read_parquet(target)["a"].tolist() == [1]
    assert [p.name for p in tmp_path.iterdir()] == ["x.parquet"]
