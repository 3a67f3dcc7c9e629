"""``degeneracy measure``: networks trained by a plain PyTorch script go through the CLI end to
end; permutation invariance; widths; and every bad input fails early, naming the file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from degeneracy.__main__ import main
from degeneracy.measure.formats import MeasureInputError

FAST = ["--n-boot", "100", "--weight-restarts", "1", "--dsa-rank", "6", "--dsa-n-delays", "3", "--quiet"]
FAST_KW = dict(n_boot=100, weight_restarts=1, dsa_rank=6, dsa_n_delays=3)


# ------------------------------------------------------------------------------------------
# networks trained by a plain PyTorch script (not the project's training code)
# ------------------------------------------------------------------------------------------


def _task(n_trials: int, T: int, seed: int):
    """Remember the sign of a pulse at t = 0 and report it after a delay (a 1-bit memory)."""
    g = torch.Generator().manual_seed(seed)
    s = torch.randint(0, 2, (n_trials,), generator=g).float() * 2 - 1
    x = torch.zeros(n_trials, T, 1)
    x[:, 0, 0] = s
    y = s[:, None, None].expand(n_trials, T, 1).clone()
    return x, y


def _train(width: int, seed: int, steps: int = 120):
    torch.manual_seed(seed)
    rnn = torch.nn.RNN(1, width, batch_first=True)
    readout = torch.nn.Linear(width, 1)
    opt = torch.optim.Adam([*rnn.parameters(), *readout.parameters()], lr=0.02)
    x, y = _task(32, 15, seed=100 + seed)
    for _ in range(steps):
        h, _ = rnn(x)
        loss = ((readout(h)[:, 3:] - y[:, 3:]) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return rnn, readout


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Four trained networks (two per 'delay' group) as torch state_dicts + probe inputs, and the
    same networks as .npz arrays."""
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("trained")
    ckpt, arrays = root / "ckpt", root / "arrays"
    ckpt.mkdir()
    arrays.mkdir()
    probe, _ = _task(24, 15, seed=999)
    np.savez(root / "inputs.npz", inputs=probe.numpy())
    x_ood, y_ood = _task(24, 30, seed=998)
    for i in range(4):
        rnn, readout = _train(8, seed=i)
        torch.save({"rnn": rnn.state_dict(), "readout": readout.state_dict()}, ckpt / f"net{i}.pt")
        with torch.no_grad():
            h, _ = rnn(probe)
            ho, _ = rnn(x_ood)
            ood = ((readout(ho) - y_ood) ** 2).mean(dim=(1, 2)).numpy()
        np.savez(
            arrays / f"net{i}.npz",
            W=rnn.weight_hh_l0.detach().numpy(),
            trajectories=h.numpy(),
            ood_loss=ood,
            delay=10 + 10 * (i % 2),
        )
    return root


def test_cli_end_to_end_on_checkpoints(trained, tmp_path):
    out = tmp_path / "out"
    rc = main(["measure", str(trained / "ckpt"), "--inputs", str(trained / "inputs.npz"), "--out", str(out), *FAST])
    assert rc == 0
    for f in (
        "networks.parquet",
        "pairwise.parquet",
        "distances.parquet",
        "summary.parquet",
        "report.md",
        "mds_dsa.png",
        "distances.png",
    ):
        assert (out / f).stat().st_size > 0, f
    nets = pd.read_parquet(out / "networks.parquet")
    assert nets["name"].tolist() == ["net0", "net1", "net2", "net3"]
    assert (nets["n_units"] == 8).all() and (nets["n_trials"] == 24).all()
    # trajectories were computed by running the checkpoints on the inputs: compare with torch
    rnn = torch.nn.RNN(1, 8, batch_first=True)
    rnn.load_state_dict(torch.load(trained / "ckpt" / "net2.pt")["rnn"])
    from degeneracy.measure.formats import load_torch, read_inputs

    x = read_inputs(trained / "inputs.npz")
    net = load_torch(trained / "ckpt" / "net2.pt", inputs=x)
    with torch.no_grad():
        h, _ = rnn(torch.as_tensor(x, dtype=torch.float32))
    np.testing.assert_allclose(net.trajectories, h.numpy(), atol=1e-5)
    np.testing.assert_allclose(net.W, rnn.weight_hh_l0.detach().numpy(), atol=0)

    pairs = pd.read_parquet(out / "pairwise.parquet")
    assert list(pairs.columns) == ["condition", "seed_a", "seed_b", "metric", "value"]
    assert {"dsa", "dsa_null", "svcca", "weight_aligned", "weight_aligned_per_n2", "weight_unaligned"} <= set(
        pairs["metric"]
    )
    assert (pairs.loc[pairs["metric"] == "dsa", "value"].between(0, 2)).all()
    summary = pd.read_parquet(out / "summary.parquet")
    assert summary["condition"].tolist() == ["all"]  # no group labels: one group
    assert summary["dsa_mean"].iloc[0] == pytest.approx(pairs.loc[pairs["metric"] == "dsa", "value"].mean())
    assert summary["svcca_mean"].iloc[0] == pytest.approx(pairs.loc[pairs["metric"] == "svcca", "value"].mean())
    report = (out / "report.md").read_text()
    assert "net3" in report and "mds_dsa.png" in report


def test_ordered_groups_give_summary_and_effects(trained, tmp_path):
    out = tmp_path / "out"
    rc = main(["measure", str(trained / "arrays" / "*.npz"), "--group-by", "delay", "--out", str(out), *FAST])
    assert rc == 0
    summary = pd.read_parquet(out / "summary.parquet")
    assert summary["condition"].tolist() == ["10", "20"]
    assert summary["level"].tolist() == [10.0, 20.0]
    assert (summary["n_converged"] == 2).all()
    nets = pd.read_parquet(out / "networks.parquet")
    for g, row in summary.set_index("condition").iterrows():
        ood = nets.loc[nets["group"] == g, "ood_mse"].to_numpy()
        assert row["ood_mse_mean"] == pytest.approx(ood.mean())
    dist = pd.read_parquet(out / "distances.parquet")
    pairs = pd.read_parquet(out / "pairwise.parquet")
    # all 6 pairs in the all-pairs table, only the 2 within-group pairs in the study table
    assert (dist["metric"] == "dsa").sum() == 6
    assert (pairs["metric"] == "dsa").sum() == 2
    eff = pd.read_parquet(out / "effects.parquet")
    assert {"dynamics", "weights", "representations", "behavior"} <= set(eff["level_of_degeneracy"])
    assert set(eff.loc[eff["level_of_degeneracy"] == "representations", "metric"]) == {"svcca"}


def test_help_documents_the_formats():
    r = subprocess.run(
        [sys.executable, "-m", "degeneracy", "measure", "--help"], capture_output=True, text=True, check=True
    )
    for word in ("trajectories", "ood_loss", "W0", "group", "state_dict", "--weight-key", "--inputs", "glob"):
        assert word in r.stdout, word


# ------------------------------------------------------------------------------------------
# invariance and widths
# ------------------------------------------------------------------------------------------


def _random_net(rng, n=10, trials=12, T=25):
    W = rng.normal(size=(n, n)) * 0.9 / np.sqrt(n)
    Win = rng.normal(size=(n, 2))
    x = rng.normal(size=(trials, T, 2))
    h = np.zeros((trials, n))
    hs = []
    for t in range(T):
        h = np.tanh(h @ W.T + x[:, t] @ Win.T)
        hs.append(h)
    return {"W": W, "trajectories": np.stack(hs, 1)}


def test_permuted_copy_is_at_zero_distance():
    import degeneracy.measure

    rng = np.random.default_rng(0)
    a = _random_net(rng)
    p = rng.permutation(10)
    P = np.eye(10)[p]
    b = {"W": P @ a["W"] @ P.T, "trajectories": a["trajectories"] @ P.T}
    c = _random_net(rng)
    res = degeneracy.measure([dict(a, name="a"), dict(b, name="b"), dict(c, name="c")], **FAST_KW)
    M = res.matrices
    assert M["weight_aligned"][0, 1] <= 1e-9
    assert M["dsa"][0, 1] <= 1e-3
    assert M["svcca"][0, 1] <= 1e-9
    # the unrelated network is far at every level
    assert M["weight_aligned"][0, 2] > 1.0 and M["dsa"][0, 2] > 0.05 and M["svcca"][0, 2] > 0.05


def test_different_widths_dsa_and_svcca_but_no_weights(tmp_path):
    rng = np.random.default_rng(1)
    for i, n in enumerate((6, 9, 12)):
        np.savez(tmp_path / f"w{i}.npz", **_random_net(rng, n=n))
    res = __import__("degeneracy.measure", fromlist=["measure"]).measure(sorted(tmp_path.glob("*.npz")), **FAST_KW)
    assert set(res.matrices) == {"dsa", "svcca", "svcca_shuffled"}  # no weights; SVCCA with its baseline
    assert np.isfinite(res.matrices["dsa"]).all() and np.isfinite(res.matrices["svcca"]).all()
    assert any("different widths" in n and "w0 (6 units)" in n for n in res.notes)
    # asked for explicitly, weights are refused with the widths named
    err = tmp_path / "err.txt"
    with open(err, "w") as fh:
        r = subprocess.run(
            [
                sys.executable,
                "-m",
                "degeneracy",
                "measure",
                str(tmp_path),
                "--metrics",
                "weights",
                "--out",
                str(tmp_path / "o"),
            ],
            stderr=fh,
            text=True,
        )
    assert r.returncode == 2
    text = err.read_text()
    assert "different widths" in text and "w1 (9 units)" in text and "Traceback" not in text


def test_checkpoint_with_named_weight_and_companion_npz(tmp_path):
    rng = np.random.default_rng(2)
    for i in range(2):
        net = _random_net(rng, n=7)
        torch.save(
            {"model": {"core.J": torch.as_tensor(net["W"]), "out.weight": torch.zeros(1, 7)}}, tmp_path / f"m{i}.pt"
        )
        np.savez(tmp_path / f"m{i}.npz", trajectories=net["trajectories"], group="x")
    from degeneracy.measure.formats import load_networks

    with pytest.raises(MeasureInputError, match=r"m0\.pt: no key ending in 'weight_hh_l0'.*--weight-key"):
        load_networks([tmp_path])
    nets = load_networks([tmp_path], weight_key="model.core.J")
    assert [n.name for n in nets] == ["m0", "m1"]  # the companions are not networks of their own
    assert nets[0].group == "x" and nets[0].W.shape == (7, 7)


# ------------------------------------------------------------------------------------------
# bad input: one clear error naming the file, before any heavy work
# ------------------------------------------------------------------------------------------


def _good(tmp_path: Path, k=2):
    rng = np.random.default_rng(3)
    paths = []
    for i in range(k):
        np.savez(tmp_path / f"good{i}.npz", **_random_net(rng, n=5))
        paths.append(tmp_path / f"good{i}.npz")
    return paths


def _bad_cases(tmp_path: Path):
    rng = np.random.default_rng(4)
    net = _random_net(rng, n=5)
    cases = {}

    def save(name, **arrays):
        np.savez(tmp_path / name, **arrays)
        return tmp_path / name

    cases["non_square"] = (save("nonsq.npz", W=np.ones((5, 4)), trajectories=net["trajectories"]), "must be square")
    cases["width"] = (save("width.npz", W=net["W"], trajectories=net["trajectories"][..., :3]), "3 units")
    nan_t = net["trajectories"].copy()
    nan_t[0, 0, 0] = np.nan
    cases["nan"] = (save("nan.npz", W=net["W"], trajectories=nan_t), "NaN or inf")
    inf_W = net["W"].copy()
    inf_W[1, 1] = np.inf
    cases["inf"] = (save("inf.npz", W=inf_W, trajectories=net["trajectories"]), "NaN or inf")
    cases["missing_W"] = (save("noW.npz", trajectories=net["trajectories"]), "missing key 'W'")
    cases["missing_traj"] = (save("notraj.npz", W=net["W"]), "missing key 'trajectories'")
    cases["ood_length"] = (
        save("ood.npz", W=net["W"], trajectories=net["trajectories"], ood_loss=np.ones(5)),
        "one value per trial",
    )
    (tmp_path / "garbage.npz").write_bytes(b"this is not a zip file")
    cases["unreadable_npz"] = (tmp_path / "garbage.npz", "not a readable .npz")
    (tmp_path / "garbage.pt").write_bytes(b"\x00\x01 not a checkpoint")
    cases["unreadable_pt"] = (tmp_path / "garbage.pt", "not a readable PyTorch checkpoint")
    torch.save({"rnn.weight_hh_l0": torch.ones(5, 5)}, tmp_path / "lonely.pt")
    cases["torch_no_traj"] = (tmp_path / "lonely.pt", "no trajectories")
    return cases


@pytest.fixture
def no_heavy_work(monkeypatch):
    """Any DSA fit or distance would fail the test: errors must come before the heavy work."""
    from degeneracy.metrics import dsa, svcca, weights

    def boom(*a, **k):
        raise AssertionError("heavy work started before the input check")

    monkeypatch.setattr(dsa, "fit_operator", boom)
    monkeypatch.setattr(weights, "pairwise_weight_distances", boom)
    monkeypatch.setattr(svcca, "pairwise_svcca", boom)


def test_every_bad_input_names_the_file(tmp_path, no_heavy_work):
    import degeneracy.measure

    good = _good(tmp_path)
    for case, (path, message) in _bad_cases(tmp_path).items():
        with pytest.raises(MeasureInputError) as exc:
            degeneracy.measure([*good, path])
        text = str(exc.value)
        assert text.startswith(str(path)), (case, text)
        assert message in text, (case, text)


def test_too_few_networks_and_missing_paths(tmp_path, no_heavy_work, capsys):
    good = _good(tmp_path, k=1)
    assert main(["measure", str(good[0]), "--out", str(tmp_path / "o")]) == 2
    assert "need at least 2 networks" in capsys.readouterr().err
    assert main(["measure", str(tmp_path / "nope.npz"), str(good[0]), "--out", str(tmp_path / "o")]) == 2
    assert "nope.npz: no such file or folder" in capsys.readouterr().err
    assert main(["measure", str(tmp_path / "*.pth"), "--out", str(tmp_path / "o")]) == 2
    assert "no file matches" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_dsa_settings_checked_against_the_data(tmp_path, no_heavy_work, capsys):
    good = _good(tmp_path)  # 25 time steps, 5 units
    assert main(["measure", *map(str, good), "--dsa-n-delays", "30", "--out", str(tmp_path / "o")]) == 2
    assert "too few for --dsa-n-delays 30" in capsys.readouterr().err
    assert (
        main(["measure", *map(str, good), "--dsa-rank", "60", "--dsa-n-delays", "10", "--out", str(tmp_path / "o")])
        == 2
    )
    err = capsys.readouterr().err
    assert str(good[0]) in err and "exceeds n_delays x units" in err


# ------------------------------------------------------------------------------------------
# hostile input (issue 31): one line naming the file, exit 2, no traceback, before the work
# ------------------------------------------------------------------------------------------


def _npz_declaring(path: Path, shape) -> Path:
    """A .npz whose 'W' member header declares ``shape`` float64 but holds a few bytes."""
    import io
    import zipfile

    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": "<f8", "fortran_order": False, "shape": shape})
    buf.write(b"\0" * 64)
    traj = io.BytesIO()
    np.save(traj, np.ones((2, 5, 3)))
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("W.npy", buf.getvalue())
        zf.writestr("trajectories.npy", traj.getvalue())
    return path


def _one_line_error(capsys, argv, *needles, rc=2):
    got = main([*argv, "--quiet"])
    err = capsys.readouterr().err
    assert got == rc, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    for n in needles:
        assert n in err, (n, err)
    return err


def test_hostile_inputs_give_one_line_and_exit_2(tmp_path, no_heavy_work, capsys):
    import os
    import signal

    good = [str(p) for p in _good(tmp_path)]
    out = str(tmp_path / "o")
    huge = _npz_declaring(tmp_path / "huge.npz", (10**6, 10**6))
    _one_line_error(capsys, ["measure", *good, str(huge), "--out", out], "huge.npz", "declares", "1000000 x 1000000")
    small_lie = _npz_declaring(tmp_path / "lie.npz", (100, 100))  # 80 kB declared, 64 B present
    _one_line_error(capsys, ["measure", *good, str(small_lie), "--out", out], "lie.npz", "forged header")
    np.save(tmp_path / "renamed.npy", np.ones((3, 3)))
    os.rename(tmp_path / "renamed.npy", tmp_path / "renamed.npz")
    _one_line_error(capsys, ["measure", *good, str(tmp_path / "renamed.npz"), "--out", out], "renamed.npz", ".npy file")
    (tmp_path / "afile").write_text("x")
    _one_line_error(capsys, ["measure", *good, "--out", str(tmp_path / "afile")], "afile", "not a folder")
    _one_line_error(capsys, ["measure", *good, "--out", out, "--n-boot", "0"], "--n-boot must be")
    fifo = tmp_path / "pipe.npz"
    os.mkfifo(fifo)
    signal.signal(signal.SIGALRM, lambda *a: (_ for _ in ()).throw(TimeoutError("the named pipe was opened")))
    signal.alarm(20)
    try:
        _one_line_error(capsys, ["measure", *good, str(fifo), "--out", out], "pipe.npz", "named pipe")
    finally:
        signal.alarm(0)
    weird = tmp_path / "evil\x1b[31m\nname.npz"
    np.savez(weird, W=np.eye(5))
    err = _one_line_error(capsys, ["measure", *good, str(weird), "--out", out], "missing key 'trajectories'")
    assert "\x1b" not in err and "\\x1b" in err and "\\n" in err
    assert not (tmp_path / "o").exists()


def test_unwritable_out_refused_before_loading(tmp_path, no_heavy_work, capsys, monkeypatch):
    from degeneracy.measure import report

    good = [str(p) for p in _good(tmp_path)]
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    real = report._writable
    monkeypatch.setattr(report, "_writable", lambda p: real(p) and Path(p) != locked)  # root ignores modes
    _one_line_error(capsys, ["measure", *good, "--out", str(locked)], "locked", "not writable")
    _one_line_error(capsys, ["measure", *good, "--out", str(locked / "sub")], "not a writable folder")
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("precious")
    _one_line_error(capsys, ["measure", *good, "--out", str(tmp_path / "mine")], "thesis.tex", "new or empty folder")
    assert (tmp_path / "mine" / "thesis.tex").read_text() == "precious"


def test_dollar_math_in_a_network_name_still_draws(tmp_path, capsys):
    rng = np.random.default_rng(5)
    paths = []
    for name in ("a$\\frac{$", "b_$x^2$", "c"):
        np.savez(tmp_path / f"{name}.npz", **_random_net(rng, n=5))
        paths.append(str(tmp_path / f"{name}.npz"))
    out = tmp_path / "out"
    assert main(["measure", *paths, "--out", str(out), *FAST]) == 0, capsys.readouterr().err
    assert (out / "distances.png").stat().st_size > 0 and (out / "mds_dsa.png").stat().st_size > 0


# ------------------------------------------------------------------------------------------
# the output folder is written as a unit, with a manifest
# ------------------------------------------------------------------------------------------


def _grouped(tmp_path: Path, per_group=3, groups=(1, 2), **extra) -> list[str]:
    rng = np.random.default_rng(6)
    paths = []
    for g in groups:
        for s in range(per_group):
            net = _random_net(rng, n=5, trials=6, T=12)
            p = tmp_path / f"g{g}_s{s}.npz"
            np.savez(p, **net, group=g, kind=f"k{g}", W0=net["W"] + 0.3 * rng.normal(size=(5, 5)), **extra)
            paths.append(str(p))
    return paths


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_failed_write_leaves_the_previous_run_and_success_removes_stale_files(tmp_path, capsys, monkeypatch):
    import json

    from degeneracy.measure import report

    nets = _grouped(tmp_path)
    out = tmp_path / "out"
    assert main(["measure", *nets, "--out", str(out), *FAST]) == 0
    before = _snapshot(out)
    assert {"effects.parquet", "mds_dsa.png", "distances.png", "manifest.json"} <= set(before)
    assert sorted(json.loads(before["manifest.json"])["files"]) == sorted(before)

    def broken(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(report, "fig_heatmaps", broken)
    _one_line_error(capsys, ["measure", *nets, "--out", str(out), *FAST, "--seed", "3"], "disk full", rc=1)
    assert _snapshot(out) == before  # byte for byte
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
    monkeypatch.undo()

    # unordered string groups, SVCCA only, no figures: the old effects and figures go
    assert (
        main(["measure", *nets, "--out", str(out), *FAST, "--group-by", "kind", "--metrics", "svcca", "--no-figures"])
        == 0
    )
    after = _snapshot(out)
    assert "effects.parquet" not in after and "mds_dsa.png" not in after and "distances.png" not in after
    assert sorted(json.loads(after["manifest.json"])["files"]) == sorted(after)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


# ------------------------------------------------------------------------------------------
# honest labels: samples, convergence, groups, degenerate values
# ------------------------------------------------------------------------------------------


def test_svcca_refuses_misaligned_samples_with_the_same_count(tmp_path, capsys):
    rng = np.random.default_rng(7)
    a = _random_net(rng, n=5, trials=10, T=16)
    b = _random_net(rng, n=5, trials=8, T=20)
    np.savez(tmp_path / "a.npz", **a)
    np.savez(tmp_path / "b.npz", **b)
    files = [str(tmp_path / "a.npz"), str(tmp_path / "b.npz")]
    _one_line_error(
        capsys,
        ["measure", *files, "--metrics", "svcca", "--out", str(tmp_path / "o")],
        "misaligned",
        "a (10 x 16)",
        "b (8 x 20)",
    )
    import degeneracy.measure

    res = degeneracy.measure(files, metrics=None, **FAST_KW)
    assert "svcca" not in res.matrices
    assert any("misaligned" in n and "SVCCA skipped" in n for n in res.notes)


def test_external_convergence_is_unknown_not_converged(tmp_path):
    import degeneracy.measure

    nets = _grouped(tmp_path, per_group=3, groups=(1,))
    res = degeneracy.measure(nets, metrics=["dsa"], **FAST_KW)
    assert (res.networks["status"] == "external").all()
    assert res.networks["converged"].isna().all()
    row = res.summary.iloc[0]
    assert np.isnan(row["convergence_rate"]) and row["n_converged"] == 3
    assert "convergence unknown" in row["note"]
    # a file that says it converged (or not) is taken at its word
    extra = tmp_path / "said"
    extra.mkdir()
    told = _grouped(extra, per_group=3, groups=(1,), converged=True)
    np.savez(told[0], **{**dict(np.load(told[0])), "converged": False})
    res = degeneracy.measure(told, metrics=["dsa"], **FAST_KW)
    assert res.networks["status"].tolist() == ["not converged", "converged", "converged"]
    assert res.summary.iloc[0]["n_converged"] == 2
    assert res.summary.iloc[0]["convergence_rate"] == pytest.approx(2 / 3)


def test_missing_and_nan_group_labels(tmp_path, no_heavy_work, capsys):

    nets = _grouped(tmp_path, per_group=2)
    rng = np.random.default_rng(8)
    lone = tmp_path / "nogroup.npz"
    np.savez(lone, **_random_net(rng, n=5, trials=6, T=12))
    err = _one_line_error(
        capsys,
        ["measure", *nets, str(lone), "--out", str(tmp_path / "o")],
        "nogroup.npz",
        "missing the group key 'group'",
        "--default-group",
    )
    assert "not numbers" not in err
    nan = tmp_path / "nan.npz"
    np.savez(nan, **_random_net(rng, n=5, trials=6, T=12), group=np.nan)
    _one_line_error(
        capsys, ["measure", *nets, str(nan), "--out", str(tmp_path / "o")], "nan.npz", "group label 'group' is nan"
    )
    _one_line_error(
        capsys,
        ["measure", *nets, "--group-by", "delay", "--out", str(tmp_path / "o")],
        "no network has the group key 'delay'",
    )


def test_missing_group_with_default_group(tmp_path):
    import degeneracy.measure

    nets = _grouped(tmp_path, per_group=2)
    np.savez(tmp_path / "nogroup.npz", **_random_net(np.random.default_rng(8), n=5, trials=6, T=12))
    res = degeneracy.measure([*nets, tmp_path / "nogroup.npz"], default_group="2", metrics=["svcca"], **FAST_KW)
    assert res.networks["group"].tolist() == ["1", "1", "2", "2", "2"]
    assert any("--default-group" in n for n in res.notes)


def test_all_zero_and_overflowing_values_are_named(tmp_path, no_heavy_work):
    import degeneracy.measure

    good = _good(tmp_path)
    net = _random_net(np.random.default_rng(9), n=5)
    np.savez(tmp_path / "zero.npz", W=net["W"], trajectories=np.zeros_like(net["trajectories"]))
    with pytest.raises(MeasureInputError, match=r"zero\.npz: trajectories are all zero"):
        degeneracy.measure([*good, tmp_path / "zero.npz"])
    np.savez(tmp_path / "big.npz", W=net["W"], trajectories=net["trajectories"] * 1e200)
    with pytest.raises(MeasureInputError, match=r"big\.npz: 'trajectories' holds values as large as"):
        degeneracy.measure([*good, tmp_path / "big.npz"])


# ------------------------------------------------------------------------------------------
# the report answers "is it more than noise?" and states the rule of the trend
# ------------------------------------------------------------------------------------------


def test_report_gives_baselines_and_the_trend_rule(tmp_path):
    import degeneracy.measure

    nets = _grouped(tmp_path)
    res = degeneracy.measure(nets, out=str(tmp_path / "out"), figures=False, **FAST_KW)
    text = (tmp_path / "out" / "report.md").read_text()
    assert "## Is it more than noise?" in text
    for measure_ in ("dynamics (DSA)", "weights (aligned)", "representations (SVCCA)"):
        assert text.count(measure_) == 2, measure_  # one row per group
    assert "within-network null" in text and "unaligned:" in text and "initial matrices, aligned:" in text
    assert "samples shuffled:" in text
    s = res.summary
    assert s["dsa_null_lo"].notna().all() and s["svcca_shuffled_mean"].notna().all()
    assert s["weight_aligned_init_mean"].notna().all()
    # the DSA null with its interval in the per-group table
    r = s.iloc[0]
    assert f"[{r['dsa_null_lo']:.3g}, {r['dsa_null_hi']:.3g}]" in text
    # the trend wording is the rule that decides it
    assert "interval excludes 0" not in text
    assert "only when its p-value, adjusted" in text and "Holm" in text and "p (adjusted)" in text


def test_a_folder_with_a_resume_snapshot_takes_only_the_networks(tmp_path):
    # training writes <checkpoint>.resume.pt while it runs: a folder or glob must not take it as a network
    from degeneracy.measure.formats import expand_inputs

    for name in ("a.npz", "b.pt", "b.pt.resume.pt"):
        (tmp_path / name).write_bytes(b"x")
    assert [p.name for p in expand_inputs([tmp_path])] == ["a.npz", "b.pt"]
