"""The prepared GPU session (benchmarks/gpu_session.py): which conditions its sine part trains and
how it reports a condition stopped at the deadline. Its runs need a GPU (or --quick on a CPU, about
a minute); these checks need neither."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("gpu_session", REPO / "benchmarks" / "gpu_session.py")
gpu_session = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gpu_session)


def test_sine_part_trains_the_first_and_last_level_of_every_sine_experiment():
    conds = gpu_session.paper_conditions(REPO / "configs" / "paper.yaml", 8, gpu_session.SINE_EXPERIMENTS, ["sine"])
    assert {c.task for c in conds.values()} == {"sine"}
    assert all(list(c.seeds) == list(range(8)) for c in conds.values())
    got = {
        (c.config["model"]["kind"], c.config["model"]["n_units"], c.config["task"].get("n_channels"))
        for c in conds.values()
    }
    # complexity 1 and 5 channels (standard), width 32 and 512 (muP), gamma's ends at n = 128 (muP)
    assert {("standard", 128, 1), ("standard", 128, 5), ("mup", 32, 1), ("mup", 512, 1), ("mup", 128, 1)} == got
    gammas = sorted(
        c.config["model"]["gamma"]
        for c in conds.values()
        if c.config["model"]["n_units"] == 128 and c.config["model"]["kind"] == "mup"
    )
    assert gammas == [0.3, 1.0]
    lams = sorted(
        c.config["training"].get("regulariser", {}).get("lambda", 0.0)
        for c in conds.values()
        if c.config["model"]["kind"] == "standard"
    )
    assert lams == [0.0, 0.0, 1e-4, 1e-3]  # 1 and 5 channels, L1's and nuclear's last level
    assert all(c.config["training"]["max_epochs"] == 1000 for c in conds.values())  # the full budget


def test_report_of_a_condition_stopped_at_the_deadline(tmp_path):
    """3,200 steps in 40 s: 80 steps/s, so the full budget (1000 x 128 steps) takes 26.7 min."""
    cfg = {"training": {"max_epochs": 1000, "steps_per_epoch": 128}}
    rows = [
        {"seed": 0, "epoch": 25, "steps": 3200, "loss": 0.2, "elapsed_s": 40.0},
        {"seed": 1, "epoch": 25, "steps": 3200, "loss": 0.4, "elapsed_s": 39.0},
    ]
    (tmp_path / "status.json").write_text(json.dumps(rows))
    line = gpu_session._report("c", tmp_path, cfg, 2)
    cells = [x.strip() for x in line.strip("|").split("|")]
    assert cells[0] == "c" and cells[1].startswith("running at the deadline (2/2")
    assert float(cells[2]) == pytest.approx(0.3) and cells[3] == "3200"
    assert float(cells[4]) == pytest.approx(80.0) and float(cells[5]) == pytest.approx(128000 / 80 / 60, abs=0.05)
    (tmp_path / "done.json").write_text(
        json.dumps([{"status": "converged", "steps": 3200}, {"status": "not_converged", "steps": 3200}])
    )
    assert "| 1/2 (finished) |" in gpu_session._report("c", tmp_path, cfg, 2)
