"""Every figure function writes a non-empty PNG and PDF, on tiny synthetic and on empty input."""

import numpy as np
import pandas as pd
import pytest

from degeneracy.aggregate import summarise
from degeneracy.figures import FIGURES, classical_mds
from degeneracy.stats import effects_table

EXPERIMENTS = [
    # experiment, factor, tasks, levels
    ("complexity", "channels", ["flipflop", "sine"], [1, 2, 3]),
    ("memory", "delay", ["delayed_discrimination"], [20, 40, 80]),
    ("auxiliary", "auxiliary", ["delayed_discrimination"], [0, 1]),
    ("gamma", "gamma", ["flipflop"], [0.01, 0.1, 1.0]),
    ("width", "width", ["flipflop"], [16, 32, 64]),
    ("l1", "l1", ["delayed_discrimination"], [0.0, 1e-4, 1e-3]),
    ("nuclear", "nuclear", ["delayed_discrimination"], [0.0, 1e-4, 1e-3]),
]


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    meta, nets, pairs, logs, trial = [], [], [], [], []
    k = 4
    for exp, factor, tasks, levels in EXPERIMENTS:
        for task in tasks:
            for i, lv in enumerate(levels):
                c = f"{exp}-{task}-{lv}"
                meta.append(dict(experiment=exp, factor=factor, task=task, level=float(lv), condition=c))
                n_units = int(lv) if factor == "width" else 64
                for s in range(k):
                    status = "not_converged" if (s == 3 and i == 1) else "converged"
                    nets.append(dict(condition=c, seed=s, status=status, converged=status == "converged", epochs=3,
                                     steps=384, final_loss=1e-3, ood_mse=rng.uniform(0.5, 1.5),
                                     weight_change=rng.uniform(1, 2), weight_change_rel=rng.uniform(0.1, 0.2),
                                     kernel_alignment=rng.uniform(0.3, 0.9), n_units=n_units))
                conv = [s for s in range(k) if not (s == 3 and i == 1)]
                for a in conv:
                    pairs.append(dict(condition=c, seed_a=a, seed_b=a, metric="dsa_null", value=0.01))
                    for b in conv:
                        if a < b:
                            for m, v in (("dsa", rng.uniform(0.2, 0.6)), ("weight_aligned", rng.uniform(5, 6)),
                                         ("weight_unaligned", 9.0)):
                                pairs.append(dict(condition=c, seed_a=a, seed_b=b, metric=m, value=v))
                            pairs.append(dict(condition=c, seed_a=a, seed_b=b, metric="weight_aligned_per_n2",
                                              value=rng.uniform(5, 6) / n_units**2))
    for c in ("complexity-flipflop-1", "complexity-sine-2"):
        for s in range(2):
            for e in range(1, 6):
                logs.append(dict(condition=c, seed=s, epoch=e, steps=128 * e, loss=10.0 ** (-e / 2), lr=1e-3, elapsed_s=e))
        for t in range(20):
            for ch in range(2):
                trial.append(dict(condition=c, time=t, channel=ch, kind="input", value=float(t % 5 == 0)))
                trial.append(dict(condition=c, time=t, channel=ch, kind="target", value=np.sin(t / 3)))
                trial.append(dict(condition=c, time=t, channel=ch, kind="output", value=np.sin(t / 3) + 0.05))
    meta, nets, pairs = pd.DataFrame(meta), pd.DataFrame(nets), pd.DataFrame(pairs)
    summary = summarise(meta, nets, pairs, n_boot=50, seed=0)
    effects = effects_table(meta, nets, pairs, n_boot=50, seed=0)
    return dict(meta=meta, pairwise=pairs, summary=summary, effects=effects, logs=pd.DataFrame(logs),
                trial=pd.DataFrame(trial))


def call(name, d, out_png, out_pdf):
    fn = FIGURES[name]
    if name == "fig3":
        fn(d["summary"], d["pairwise"], d["meta"], out_png, out_pdf)
    elif name == "effects":
        fn(d["effects"], out_png, out_pdf)
    elif name == "training_curves":
        fn(d["logs"], out_png, out_pdf)
    elif name == "example_trial":
        fn(d["trial"], out_png, out_pdf)
    else:
        fn(d["summary"], out_png, out_pdf)


def check(out_png, out_pdf):
    assert out_png.stat().st_size > 1000 and out_pdf.stat().st_size > 1000
    assert out_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert out_pdf.read_bytes()[:5] == b"%PDF-"
    leftovers = [p for p in out_png.parent.iterdir() if p.name.startswith(".")]
    assert not leftovers


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_figure_on_synthetic(name, data, tmp_path):
    out_png, out_pdf = tmp_path / "sub" / f"{name}.png", tmp_path / "sub" / f"{name}.pdf"
    call(name, data, out_png, out_pdf)
    check(out_png, out_pdf)


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_figure_on_empty(name, tmp_path):
    empty = {k: pd.DataFrame() for k in ("meta", "pairwise", "summary", "effects", "logs", "trial")}
    out_png, out_pdf = tmp_path / f"{name}.png", tmp_path / f"{name}.pdf"
    call(name, empty, out_png, out_pdf)
    check(out_png, out_pdf)


def test_figures_with_missing_experiments(data, tmp_path):
    # only the complexity experiment present: the other figures draw "no data" panels
    s = data["summary"][data["summary"]["experiment"] == "complexity"]
    for name in ("fig4", "fig6", "fig8"):
        FIGURES[name](s, tmp_path / f"{name}.png", tmp_path / f"{name}.pdf")
        check(tmp_path / f"{name}.png", tmp_path / f"{name}.pdf")


def test_classical_mds_recovers_planar_distances():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(6, 2))
    d = np.linalg.norm(x[:, None] - x[None], axis=-1)
    y = classical_mds(d, 2)
    dy = np.linalg.norm(y[:, None] - y[None], axis=-1)
    assert np.allclose(d, dy, atol=1e-8)
    assert classical_mds(np.full((1, 1), np.nan)).shape == (1, 2)


def test_caller_rcparams_survive_seaborn_style(data, tmp_path):
    import matplotlib

    old = matplotlib.rcParams["font.size"]
    try:
        matplotlib.rcParams["font.size"] = 13.0
        FIGURES["fig5"](data["summary"], tmp_path / "a.png", tmp_path / "a.pdf")
        assert matplotlib.rcParams["font.size"] == 13.0
    finally:
        matplotlib.rcParams["font.size"] = old
