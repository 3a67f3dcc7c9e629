"""Training to criterion, outcome statuses, determinism, checkpoints, regularisers, the CLI."""

import runpy
import subprocess
import sys
import types
from pathlib import Path

import pandas as pd
import pytest
import torch

from degeneracy.config import ConfigError, resolve_config
from degeneracy.io import CorruptFileError, load_checkpoint, read_parquet
from degeneracy.models import model_from_checkpoint
from degeneracy.tasks import make_task, probe_batch
from degeneracy.training import (
    StopRule,
    format_progress,
    line_logger,
    l1_penalty,
    masked_mse,
    nuclear_penalty,
    regulariser_penalty,
    train,
)
from degeneracy.training import loop as training_loop

TINY = {
    "task": {"name": "flipflop", "n_channels": 1, "T": 30},
    "model": {"n_units": 16},
    "training": {"steps_per_epoch": 8, "max_epochs": 2, "batch_size": 16},
}


def test_small_standard_network_reaches_real_flipflop_threshold(tmp_path):
    cfg = {
        "task": {"name": "flipflop", "n_channels": 1, "T": 50},
        "model": {"n_units": 32},
        "training": {"lr": 1e-2, "steps_per_epoch": 32, "max_epochs": 150, "batch_size": 32},
    }
    res = train(cfg, 0, tmp_path / "c.pt", tmp_path / "l.parquet")
    assert res.status == "converged"
    assert resolve_config(cfg)["training"]["threshold"] == 1e-3
    log = read_parquet(tmp_path / "l.parquet")
    crossed = log.index[log["loss"] < 1e-3][0]
    assert len(log) == crossed + 1 + 3, "stops stop_patience=3 epochs after first crossing"
    # the trained network really solves fresh trials
    ckpt = load_checkpoint(tmp_path / "c.pt")
    model = model_from_checkpoint(ckpt)
    task = make_task("flipflop", n_channels=1, T=50)
    x, y, mask = probe_batch(task, 64, seed=123)
    with torch.no_grad():
        assert masked_mse(model(x)[0], y, mask).item() < 5e-3


def test_checkpoint_and_log_contents(tmp_path):
    res = train(TINY, 3, tmp_path / "c.pt", tmp_path / "l.parquet")
    assert res.status == "not_converged" and res.epochs == 2 and res.steps == 16
    ckpt = load_checkpoint(tmp_path / "c.pt")
    assert ckpt["seed"] == 3 and ckpt["status"] == "not_converged"
    assert ckpt["config"] == resolve_config(TINY)
    assert ckpt["config"]["training"]["lr"] == 3e-3, "flip-flop's per-task learning rate"
    assert set(ckpt["versions"]) >= {"python", "torch", "numpy", "degeneracy"}
    assert not torch.equal(ckpt["init_state"]["rnn.weight_hh_l0"], ckpt["final_state"]["rnn.weight_hh_l0"])
    log = pd.read_parquet(tmp_path / "l.parquet")
    assert list(log.columns) == ["epoch", "steps", "loss", "lr", "elapsed_s"]
    assert str(log["epoch"].dtype) == "int64" and str(log["loss"].dtype) == "float64"
    assert log["steps"].tolist() == [8, 16]
    assert not list(tmp_path.glob(".*tmp")), "no temporary files left behind"


@pytest.mark.parametrize("kind", ["standard", "mup"])
def test_same_seed_gives_identical_bytes(tmp_path, kind):
    cfg = {**TINY, "model": {"kind": kind, "n_units": 16}}
    a = train(cfg, 7, tmp_path / "a.pt", tmp_path / "a.parquet")
    b = train(cfg, 7, tmp_path / "b.pt", tmp_path / "b.parquet")
    c = train(cfg, 8, tmp_path / "c.pt", tmp_path / "c.parquet")
    sa, sb, sc = (load_checkpoint(r.checkpoint_path)["final_state"] for r in (a, b, c))
    for k in sa:
        assert sa[k].numpy().tobytes() == sb[k].numpy().tobytes(), k
    assert any(not torch.equal(sa[k], sc[k]) for k in sa)


def test_stop_rule_counts_consecutive_epochs_below_threshold():
    rule = StopRule(threshold=1.0, patience=2)
    # below, below, above (reset), below, below, below -> stops only on the sixth epoch
    decisions = [rule.update(v) for v in (0.5, 0.5, 1.5, 0.5, 0.5, 0.5)]
    assert decisions == [False, False, False, False, False, True]
    assert [StopRule(1.0, 0).update(v) for v in (1.0, 0.99)] == [False, True], "equal is not below"
    rule = StopRule(1.0, 1)
    assert [rule.update(v) for v in (0.5, float("nan"), 0.5, 0.5)] == [False, False, False, True]


def _scripted_loss(monkeypatch, epoch_losses, steps_per_epoch):
    """Make the task loss of every step of epoch e equal epoch_losses[e - 1] (gradients still flow)."""
    calls = {"n": 0}

    def fake(y_hat, y, mask):
        value = epoch_losses[min(calls["n"] // steps_per_epoch, len(epoch_losses) - 1)]
        calls["n"] += 1
        return 0.0 * y_hat.sum() + value

    monkeypatch.setattr(training_loop, "masked_mse", fake)


def test_loss_that_crosses_once_and_rises_is_not_converged(tmp_path, monkeypatch):
    # threshold 1e-3, stop_patience 3: the old rule stopped 3 epochs after the first crossing (epoch 2)
    losses = [1e-2, 5e-4, 5e-4, 5e-4, 2e-3, 2e-3]
    _scripted_loss(monkeypatch, losses, steps_per_epoch=2)
    cfg = {**TINY, "training": {**TINY["training"], "steps_per_epoch": 2, "max_epochs": 6, "lr": 1e-4}}
    res = train(cfg, 0, tmp_path / "c.pt", tmp_path / "l.parquet")
    assert res.status == "not_converged" and res.epochs == 6
    assert read_parquet(tmp_path / "l.parquet")["loss"].tolist() == pytest.approx(losses)


def test_streak_restarts_after_a_rise(tmp_path, monkeypatch):
    losses = [1e-2, 5e-4, 5e-4, 2e-3, 5e-4, 5e-4, 5e-4, 5e-4, 5e-4, 5e-4]
    _scripted_loss(monkeypatch, losses, steps_per_epoch=2)
    cfg = {**TINY, "training": {**TINY["training"], "steps_per_epoch": 2, "max_epochs": 10, "lr": 1e-4}}
    res = train(cfg, 0, tmp_path / "c.pt", tmp_path / "l.parquet")
    # four consecutive epochs below (5, 6, 7, 8): the crossing epoch plus stop_patience = 3 more
    assert res.status == "converged" and res.epochs == 8
    assert load_checkpoint(tmp_path / "c.pt")["status"] == "converged"


def test_diverging_run_is_reported_not_raised(tmp_path):
    cfg = {**TINY, "training": {**TINY["training"], "lr": 1e30, "max_epochs": 5}}
    res = train(cfg, 0, tmp_path / "c.pt", tmp_path / "l.parquet")
    assert res.status == "diverged" and res.epochs == 1
    assert load_checkpoint(tmp_path / "c.pt")["status"] == "diverged"


def test_regularisers_by_hand():
    W = torch.tensor([[1.0, -2.0], [0.5, 0.0]])
    assert l1_penalty(W, 0.1).item() == pytest.approx(0.35)
    D = torch.diag(torch.tensor([3.0, -4.0]))
    assert nuclear_penalty(D, 0.5).item() == pytest.approx(3.5)
    Q, _ = torch.linalg.qr(torch.randn(2, 2))
    assert nuclear_penalty(Q @ D @ Q.T, 1.0).item() == pytest.approx(7.0, rel=1e-5)
    assert regulariser_penalty(W, "none", 1.0).item() == 0
    with pytest.raises(ValueError, match="nuclear"):
        regulariser_penalty(W, "l2", 1.0)


def test_l1_regularisation_shrinks_weights(tmp_path):
    base = {**TINY, "training": {**TINY["training"], "max_epochs": 3}}
    reg = {**base, "training": {**base["training"], "regulariser": {"kind": "l1", "lambda": 1e-2}}}
    a = load_checkpoint(train(base, 0, tmp_path / "a.pt", tmp_path / "a.pq").checkpoint_path)
    b = load_checkpoint(train(reg, 0, tmp_path / "b.pt", tmp_path / "b.pq").checkpoint_path)
    key = "rnn.weight_hh_l0"
    assert b["final_state"][key].abs().sum() < a["final_state"][key].abs().sum()


@pytest.mark.parametrize(
    "patch,fragment",
    [
        ({"model": {"kind": "lstm"}}, "model.kind"),
        ({"model": {"n_unit": 3}}, "allowed keys"),
        ({"model": {"n_units": 1}}, "n_units"),
        ({"training": {"threshold": 0}}, "threshold"),
        ({"training": {"device": "tpu"}}, "training.device"),
        ({"training": {"regulariser": {"kind": "l2", "lambda": 1}}}, "regulariser.kind"),
        ({"optimizer": {}}, "top-level"),
    ],
)
def test_bad_config_names_key(patch, fragment):
    cfg = {"task": {"name": "flipflop"}, **patch}
    with pytest.raises(ConfigError, match=fragment):
        resolve_config(cfg)


def test_corrupt_checkpoint_names_file(tmp_path):
    train(TINY, 0, tmp_path / "c.pt", tmp_path / "l.parquet")
    data = (tmp_path / "c.pt").read_bytes()
    (tmp_path / "c.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptFileError, match="c.pt"):
        load_checkpoint(tmp_path / "c.pt")
    (tmp_path / "l.parquet").write_bytes(b"PAR1 truncated")
    with pytest.raises(CorruptFileError, match="re-create it"):
        read_parquet(tmp_path / "l.parquet")


def test_cli_trains_one_network(tmp_path):
    cmd = [
        sys.executable,
        "-m",
        "degeneracy",
        "train",
        "--task",
        "sine",
        "--n-units",
        "8",
        "--set",
        "task.T=20",
        "--set",
        "training.max_epochs=1",
        "--set",
        "training.steps_per_epoch=2",
        "--seed",
        "4",
        "--out-dir",
        str(tmp_path),
        "--progress",
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "epoch    1" in out.stderr and "not_converged" in out.stdout
    assert load_checkpoint(tmp_path / "seed4.pt")["config"]["task"]["name"] == "sine"
    bad = subprocess.run(
        [sys.executable, "-m", "degeneracy", "train", "--task", "sinus", "--out-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2 and "valid tasks" in bad.stderr and "Traceback" not in bad.stderr


def test_progress_lines_are_flushed_as_they_are_written(tmp_path):
    row = {"epoch": 7, "steps": 896, "loss": 1.25e-3, "lr": 3e-3, "elapsed_s": 12.5}
    assert format_progress(row) == "epoch    7  steps     896  mse 1.250e-03  lr 3.00e-03  elapsed     12.5 s"
    assert format_progress(row, seed=4).startswith("seed    4  epoch    7")
    with open(tmp_path / "job.log", "w") as fh:
        log = line_logger(fh)
        log(row)
        # readable by another reader before the file is closed
        assert (tmp_path / "job.log").read_text().splitlines() == [format_progress(row)]


def test_training_job_writes_one_line_per_epoch_to_its_log(tmp_path):
    root = Path(__file__).resolve().parents[1]
    log = tmp_path / "logs" / "seed2.log"
    smk = types.SimpleNamespace(
        scriptdir=str(root / "rules" / "scripts"),
        log=[str(log)],
        threads=1,
        rule="train",
        wildcards=_Wildcards(condition="c", seed="2"),
        output=types.SimpleNamespace(checkpoint=str(tmp_path / "seed2.pt"), log=str(tmp_path / "seed2.log.parquet")),
        params=types.SimpleNamespace(config=TINY),
    )
    runpy.run_path(str(root / "rules" / "scripts" / "train.py"), init_globals={"snakemake": smk})
    lines = [ln for ln in log.read_text().splitlines() if ln.startswith("epoch")]
    epochs = read_parquet(tmp_path / "seed2.log.parquet")
    assert len(lines) == 2 == len(epochs)
    assert lines[1].startswith("epoch    2  steps      16  mse ")


class _Wildcards(dict):
    """Snakemake's wildcards: a mapping with attribute access."""

    __getattr__ = dict.__getitem__


def test_adam_eps_scales_with_width_by_hand():
    """adam_eps x (adam_eps_width / n_units)^2, computed by hand; unset: adam_eps as given."""
    mup = {"task": {"name": "flipflop"}, "model": {"kind": "mup", "n_units": 512}}
    assert training_loop.adam_eps(resolve_config(mup)) == 1e-8
    cfg = resolve_config({**mup, "training": {"adam_eps": 2e-8, "adam_eps_width": 128}})
    assert cfg["training"]["adam_eps"] == 2e-8
    assert training_loop.adam_eps(cfg) == pytest.approx(2e-8 / 16, rel=1e-12)
    cfg = resolve_config({**mup, "model": {"kind": "mup", "n_units": 32}, "training": {"adam_eps_width": 128}})
    assert training_loop.adam_eps(cfg) == pytest.approx(1e-8 * 16, rel=1e-12)


def test_adam_eps_reaches_the_optimiser(tmp_path):
    """Width-scaled epsilon at n = N is torch's default (bit-identical training); a large
    epsilon changes the trained weights (it reaches Adam)."""

    def weights(training, name):
        cfg = {**TINY, "training": {**TINY["training"], **training}}
        train(cfg, 0, tmp_path / f"{name}.pt", tmp_path / f"{name}.parquet")
        return model_from_checkpoint(load_checkpoint(tmp_path / f"{name}.pt")).state_dict()

    base = weights({}, "base")
    same = weights({"adam_eps_width": 16}, "same")  # TINY has n_units 16
    other = weights({"adam_eps": 1e-1}, "other")
    assert all(torch.equal(base[k], same[k]) for k in base)
    assert any(not torch.allclose(base[k], other[k]) for k in base)
