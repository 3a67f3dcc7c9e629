"""Resumable training: a killed run continues from its snapshot to the same network and log."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from degeneracy.io import load_checkpoint, read_parquet
from degeneracy.training import train, train_ensemble
from degeneracy.training import loop as training_loop
from degeneracy.training.resume import resume_path

ROOT = Path(__file__).resolve().parents[1]

TINY = {
    "task": {"name": "flipflop", "n_channels": 1, "T": 30},
    "model": {"n_units": 16},
    "training": {"steps_per_epoch": 8, "max_epochs": 8, "batch_size": 16, "threshold": 1e-9, "resume_every_epochs": 1},
}


class Killed(Exception):
    pass


def killer(at_epoch: int):
    """A progress callback that stops the run (as a kill would) once epoch ``at_epoch`` is logged:
    the snapshot on disk is then the one of epoch ``at_epoch - 1``."""

    def progress(row):
        if row["epoch"] == at_epoch:
            raise Killed

    return progress


def assert_same_run(a_ckpt: Path, a_log: Path, b_ckpt: Path, b_log: Path) -> None:
    """Bit-identical checkpoints (every tensor torch.equal, every other entry ==) and logs (every
    column but elapsed_s, which is wall time even between two uninterrupted runs)."""
    a, b = load_checkpoint(a_ckpt), load_checkpoint(b_ckpt)
    assert a.keys() == b.keys()
    for key in a:
        if key in ("init_state", "final_state"):
            assert a[key].keys() == b[key].keys()
            for name in a[key]:
                assert torch.equal(a[key][name], b[key][name]), f"{key}.{name} differs"
        else:
            assert a[key] == b[key] or (a[key] != a[key] and b[key] != b[key]), key  # NaN == NaN
    la, lb = read_parquet(a_log), read_parquet(b_log)
    assert list(la.columns) == list(lb.columns)
    cols = [c for c in la.columns if c != "elapsed_s"]
    assert la[cols].equals(lb[cols]), f"logs differ:\n{la[cols]}\n{lb[cols]}"
    assert lb["elapsed_s"].is_monotonic_increasing


def _cli(out: Path, *extra: str) -> list[str]:
    args = [
        sys.executable,
        "-m",
        "degeneracy",
        "train",
        "--task",
        "flipflop",
        "--n-units",
        "16",
        "--seed",
        "3",
        "--set",
        "task.n_channels=1",
        "--set",
        "task.T=30",
        "--set",
        "training.batch_size=16",
        "--set",
        "training.steps_per_epoch=8",
        "--set",
        "training.max_epochs=20",
        "--set",
        "training.threshold=1.0e-9",
        "--set",
        "training.resume_every_epochs=1",
        "--out-dir",
        str(out),
        "--no-progress",
    ]
    return args + list(extra)


def _env() -> dict[str, str]:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")])
    return env


def test_sigkilled_cli_run_resumes_to_the_uninterrupted_network_and_log(tmp_path):
    """`python -m degeneracy train` SIGKILLed after a few epochs and started again with the same
    arguments says it resumed, from which epoch, and ends with the checkpoint and log of a run that
    was never interrupted."""
    full, cut = tmp_path / "full", tmp_path / "cut"
    reference = subprocess.Popen(_cli(full), env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    victim = subprocess.Popen(_cli(cut), env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    snapshot = resume_path(cut / "seed3.pt")
    deadline = time.monotonic() + 60
    epoch = 0
    while epoch < 3:  # wait for a snapshot after epoch 3 or later, then kill without warning
        assert victim.poll() is None, "the run ended before it could be killed; make it longer"
        assert time.monotonic() < deadline, "no snapshot within 60 s"
        if snapshot.exists():
            epoch = torch.load(snapshot, weights_only=False)["epoch"]
        else:
            time.sleep(0.005)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    assert not (cut / "seed3.pt").exists(), "the run finished before the kill"
    killed_at = torch.load(snapshot, weights_only=False)["epoch"]
    assert 3 <= killed_at < 20

    again = subprocess.run(_cli(cut), env=_env(), capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert f"epoch {killed_at} done" in again.stderr and f"continuing at epoch {killed_at + 1}" in again.stderr
    assert "resumed from" in again.stderr
    out, err = reference.communicate(timeout=120)
    assert reference.returncode == 0, err
    assert "resumed" not in err
    assert not snapshot.exists() and not resume_path(full / "seed3.pt").exists(), "snapshots are removed at the end"
    assert_same_run(full / "seed3.pt", full / "seed3.log.parquet", cut / "seed3.pt", cut / "seed3.log.parquet")


def test_interrupted_in_process_run_resumes_and_removes_its_snapshot(tmp_path):
    notes: list[str] = []
    train(TINY, 0, tmp_path / "a.pt", tmp_path / "a.log.parquet", notice=notes.append)
    assert notes == [] and not resume_path(tmp_path / "a.pt").exists()
    with pytest.raises(Killed):
        train(TINY, 0, tmp_path / "b.pt", tmp_path / "b.log.parquet", progress=killer(5))
    assert torch.load(resume_path(tmp_path / "b.pt"), weights_only=False)["epoch"] == 4
    train(TINY, 0, tmp_path / "b.pt", tmp_path / "b.log.parquet", notice=notes.append)
    assert len(notes) == 1 and "continuing at epoch 5" in notes[0], notes
    assert_same_run(tmp_path / "a.pt", tmp_path / "a.log.parquet", tmp_path / "b.pt", tmp_path / "b.log.parquet")
    assert not resume_path(tmp_path / "b.pt").exists()


SCHEDULE = {  # the plateau schedule halves the rate at epochs 6 and 12; killed at 11, it resumes mid-plateau
    **TINY,
    "training": {**TINY["training"], "lr": 0.1, "plateau_patience": 1, "max_epochs": 14},
}
STREAK = {  # below threshold from epoch 9, converged at 12; killed at 11, it resumes mid-streak
    **TINY,
    "training": {**TINY["training"], "lr": 0.03, "threshold": 0.1, "max_epochs": 14},
}


@pytest.mark.parametrize("config", [SCHEDULE, STREAK], ids=["lr-schedule", "stop-streak"])
def test_resume_keeps_the_lr_schedule_and_the_stop_streak(tmp_path, config):
    ref = train(config, 0, tmp_path / "a.pt", tmp_path / "a.log.parquet")
    lrs = read_parquet(tmp_path / "a.log.parquet")["lr"].tolist()
    if config is SCHEDULE:
        assert lrs[9] > lrs[-1], "the schedule must change the rate after the snapshot for this test to bite"
    else:
        assert ref.status == "converged" and ref.epochs == 12
    with pytest.raises(Killed):
        train(config, 0, tmp_path / "b.pt", tmp_path / "b.log.parquet", progress=killer(11))
    train(config, 0, tmp_path / "b.pt", tmp_path / "b.log.parquet", notice=lambda m: None)
    assert_same_run(tmp_path / "a.pt", tmp_path / "a.log.parquet", tmp_path / "b.pt", tmp_path / "b.log.parquet")


def _interrupted(tmp_path: Path, config: dict, at_epoch: int = 4) -> tuple[Path, Path]:
    ckpt, log = tmp_path / "b.pt", tmp_path / "b.log.parquet"
    with pytest.raises(Killed):
        train(config, 0, ckpt, log, progress=killer(at_epoch))
    assert resume_path(ckpt).exists()
    return ckpt, log


def test_changed_config_ignores_a_stale_snapshot_and_says_why(tmp_path):
    ckpt, log = _interrupted(tmp_path, TINY)
    changed = {**TINY, "training": {**TINY["training"], "lr": 0.02}}
    notes: list[str] = []
    train(changed, 0, ckpt, log, notice=notes.append)
    assert len(notes) == 1 and "starting fresh" in notes[0] and "stale" in notes[0], notes
    assert "training.lr" in notes[0] and "0.02" in notes[0], notes
    train(changed, 0, tmp_path / "fresh.pt", tmp_path / "fresh.log.parquet")
    assert_same_run(tmp_path / "fresh.pt", tmp_path / "fresh.log.parquet", ckpt, log)
    assert not resume_path(ckpt).exists()


def test_changed_code_ignores_a_stale_snapshot_and_says_why(tmp_path, monkeypatch):
    ckpt, log = _interrupted(tmp_path, TINY)
    monkeypatch.setattr(training_loop, "code_version", lambda *a: "0123456789abcdef")
    notes: list[str] = []
    train(TINY, 0, ckpt, log, notice=notes.append)
    assert len(notes) == 1 and "starting fresh" in notes[0] and "training code changed" in notes[0], notes
    train(TINY, 0, tmp_path / "fresh.pt", tmp_path / "fresh.log.parquet")
    assert_same_run(tmp_path / "fresh.pt", tmp_path / "fresh.log.parquet", ckpt, log)


def test_snapshot_interval_is_not_part_of_the_fingerprint(tmp_path):
    """Changing only when snapshots are taken still resumes (the stored config then carries the new
    interval; the network and the log's numbers are those of an uninterrupted run)."""
    ckpt, log = _interrupted(tmp_path, TINY)
    other = {**TINY, "training": {**TINY["training"], "resume_every_epochs": None, "resume_every_s": 1000.0}}
    notes: list[str] = []
    train(other, 0, ckpt, log, notice=notes.append)
    assert len(notes) == 1 and "continuing at epoch 4" in notes[0], notes
    train(other, 0, tmp_path / "a.pt", tmp_path / "a.log.parquet")
    assert_same_run(tmp_path / "a.pt", tmp_path / "a.log.parquet", ckpt, log)


def test_unreadable_snapshot_starts_fresh(tmp_path):
    ckpt, log = tmp_path / "b.pt", tmp_path / "b.log.parquet"
    resume_path(ckpt).write_bytes(b"not a snapshot")
    notes: list[str] = []
    train(TINY, 0, ckpt, log, notice=notes.append)
    assert len(notes) == 1 and "unreadable" in notes[0], notes
    train(TINY, 0, tmp_path / "a.pt", tmp_path / "a.log.parquet")
    assert_same_run(tmp_path / "a.pt", tmp_path / "a.log.parquet", ckpt, log)


def test_no_snapshot_without_an_interval(tmp_path):
    cfg = {**TINY, "training": {**TINY["training"], "resume_every_epochs": None, "resume_every_s": None}}
    with pytest.raises(Killed):
        train(cfg, 0, tmp_path / "b.pt", tmp_path / "b.log.parquet", progress=killer(4))
    assert not resume_path(tmp_path / "b.pt").exists()


ENSEMBLE = {
    "task": {"name": "flipflop", "n_channels": 1, "T": 30},
    "model": {"n_units": 16},
    "training": {"steps_per_epoch": 8, "max_epochs": 10, "batch_size": 16, "threshold": 0.2, "resume_every_epochs": 1},
}
LR = {0: 1e-2, 1: 3e-2, 2: 1e-3}  # seed 1 converges at epoch 7, seed 0 at 10, seed 2 never


@pytest.mark.parametrize("workers", [0, 2])
def test_ensemble_resumes_with_finished_members_rewritten(tmp_path, workers):
    """An ensemble interrupted after one member finished, whose outputs were then deleted (as
    Snakemake deletes an incomplete job's outputs), resumes from its one snapshot to the networks and
    logs of an uninterrupted ensemble, with the batches drawn in-process or by worker processes."""
    seeds = [0, 1, 2]

    def paths(tag):
        return [tmp_path / f"{tag}{s}.pt" for s in seeds], [tmp_path / f"{tag}{s}.log.parquet" for s in seeds]

    ref = train_ensemble(ENSEMBLE, seeds, *paths("a"), lr_overrides=LR, loader_workers=workers)
    assert [r.status for r in ref] == ["converged", "converged", "not_converged"] and ref[1].epochs == 7
    with pytest.raises(Killed):
        train_ensemble(ENSEMBLE, seeds, *paths("b"), lr_overrides=LR, loader_workers=workers, progress=killer(9))
    snapshot = resume_path(paths("b")[0][0])
    assert torch.load(snapshot, weights_only=False)["live"] == [0, 2]
    for p in paths("b")[0] + paths("b")[1]:
        p.unlink(missing_ok=True)
    notes: list[str] = []
    res = train_ensemble(ENSEMBLE, seeds, *paths("b"), lr_overrides=LR, loader_workers=workers, notice=notes.append)
    assert len(notes) == 1 and "2 of 3 members still training; continuing at epoch 9" in notes[0], notes
    assert [r.status for r in res] == [r.status for r in ref]
    for s in seeds:
        assert_same_run(*(p[s] for p in paths("a")), *(p[s] for p in paths("b")))
    assert not snapshot.exists()


def test_ensemble_ignores_a_snapshot_of_other_seeds_or_of_separate_training(tmp_path):
    ckpts = [tmp_path / "s0.pt", tmp_path / "s1.pt"]
    logs = [tmp_path / "s0.log.parquet", tmp_path / "s1.log.parquet"]
    with pytest.raises(Killed):
        train(TINY, 0, ckpts[0], logs[0], progress=killer(3))  # a single-network snapshot at s0.pt
    notes: list[str] = []
    train_ensemble(TINY, [0, 1], ckpts, logs, notice=notes.append)
    assert len(notes) == 1 and "stale" in notes[0] and "single trainer" in notes[0], notes
    assert not resume_path(ckpts[0]).exists()
