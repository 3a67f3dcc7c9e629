"""Figures: every registered figure renders; panels say what they leave out, name each task's real
factor, draw the DSA null band and baselines, keep legends off the data and put integer factors
on integer ticks; example trials come from converged networks with the loss mask shaded."""

import os

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from scipy.spatial.distance import pdist, squareform  # noqa: E402

import degeneracy.figures as figures  # noqa: E402
from degeneracy.conditions import FIGURE_EXPERIMENTS, FIGURE_NAMES  # noqa: E402
from degeneracy.figures import FIGURES  # noqa: E402
from degeneracy.figures.panels import plot_metric, task_palette  # noqa: E402
from degeneracy.figures.trial import mask_spans, pick_converged  # noqa: E402

K = 5  # seeds per condition

# experiment, factor, {task: (parameter, levels)}
EXPERIMENTS = [
    (
        "complexity",
        "channels",
        {
            "flipflop": ("task.n_channels", [1, 2, 3]),
            "sine": ("task.n_channels", [1, 2]),
            "path_integration": ("task.dim", [2, 3]),
        },
    ),
    ("memory", "delay", {"delayed_discrimination": ("task.delay_max", [10, 20, 30])}),
    ("auxiliary", "auxiliary", {"delayed_discrimination": ("task.auxiliary", [0, 1])}),
    ("gamma", "gamma", {"delayed_discrimination": ("model.gamma", [0.3, 1.0, 3.0])}),
    ("width", "width", {"delayed_discrimination": ("model.n_units", [32, 64, 128])}),
    ("l1", "l1", {"delayed_discrimination": ("training.regulariser.lambda", [0.0, 1e-5, 1e-4])}),
    ("nuclear", "nuclear", {"delayed_discrimination": ("training.regulariser.lambda", [0.0, 1e-4, 1e-3])}),
]
#: the one condition that lost networks: sine at 2 channels, 1 of 5 converged -> no distances
SPARSE = "complexity-sine-2"
#: planted 2-D positions of the networks of every condition (their DSA distances are exact)
POINTS = np.random.default_rng(7).normal(size=(K, 2))


def svcca_value(exp: str, task: str, i: int) -> float:
    """Planted SVCCA distance: different per experiment, task and level."""
    return round(0.6 - 0.1 * i + 0.01 * [e[0] for e in EXPERIMENTS].index(exp) + 0.001 * len(task), 6)


def _summary_row(exp, factor, task, parameter, level, i):
    cond = f"{exp}-{task}-{level:g}"
    conv = 1 if cond == SPARSE else K
    value = np.nan if conv < 2 else 0.2 + 0.1 * i
    return dict(
        experiment=exp,
        factor=factor,
        task=task,
        level=float(level),
        condition=cond,
        parameter=parameter,
        n_seeds=K,
        n_converged=conv,
        n_excluded=K - conv,
        n_diverged=0,
        n_not_converged=K - conv,
        behavior_sd=value,
        behavior_sd_lo=value - 0.05,
        behavior_sd_hi=value + 0.05,
        ood_mse_mean=1.0,
        dsa_mean=value,
        dsa_lo=value - 0.02,
        dsa_hi=value + 0.02,
        dsa_null_mean=0.05 + 0.01 * i,
        weight_mean=5 * value,
        weight_lo=4.5 * value,
        weight_hi=5.5 * value,
        weight_per_n2_mean=value / level**2 if level else value,
        weight_per_n2_lo=np.nan,
        weight_per_n2_hi=np.nan,
        weight_unaligned_mean=9.0,
        weight_change_mean=1 + i,
        weight_change_se=0.1,
        weight_change_rel_mean=0.1 * (i + 1),
        kernel_alignment_mean=0.9 - 0.1 * i,
        kernel_alignment_se=0.02,
        svcca_mean=svcca_value(exp, task, i) if conv >= 2 else np.nan,
        svcca_lo=svcca_value(exp, task, i) - 0.03 if conv >= 2 else np.nan,
        svcca_hi=svcca_value(exp, task, i) + 0.04 if conv >= 2 else np.nan,
        note="only 1 of 5 networks converged" if conv < 2 else "",
    )


def make_data() -> dict[str, pd.DataFrame]:
    """Planted tables: summary (with a parameter column), meta, pairwise DSA distances from known
    2-D positions, an example trial with a loss mask, training logs and an effects table."""
    summary, meta, pairs, trial, logs = [], [], [], [], []
    for exp, factor, tasks in EXPERIMENTS:
        for task, (parameter, levels) in tasks.items():
            for i, lv in enumerate(levels):
                row = _summary_row(exp, factor, task, parameter, lv, i)
                summary.append(row)
                meta.append({k: row[k] for k in ("experiment", "factor", "task", "level", "condition")})
                seeds = [0] if row["condition"] == SPARSE else range(K)
                D = squareform(pdist(POINTS * (1 + i)))
                for a in seeds:
                    pairs.append(dict(condition=row["condition"], seed_a=a, seed_b=a, metric="dsa_null", value=0.01))
                    for b in seeds:
                        if a < b:
                            pairs.append(
                                dict(condition=row["condition"], seed_a=a, seed_b=b, metric="dsa", value=D[a, b])
                            )
    window = range(12, 16)
    for cond, seed, conv in (
        ("complexity-flipflop-1", 0, False),
        ("complexity-flipflop-1", 1, True),
        ("complexity-sine-2", 0, False),
    ):
        for t in range(20):
            trial.append(
                dict(condition=cond, seed=seed, converged=conv, time=t, channel=0, kind="input", value=float(t == 3))
            )
            for kind, v in (("target", np.sin(t / 3)), ("output", np.sin(t / 3) + 0.05), ("mask", float(t in window))):
                trial.append(dict(condition=cond, seed=seed, converged=conv, time=t, channel=0, kind=kind, value=v))
    for c in ("complexity-flipflop-1", "complexity-sine-2"):
        for s in range(2):
            for e in range(1, 6):
                logs.append(
                    dict(condition=c, seed=s, epoch=e, steps=128 * e, loss=10.0 ** (-e / 2), lr=1e-3, elapsed_s=e)
                )
    effects = []
    cells = [
        ("behavior", "behavior_sd"),
        ("dynamics", "dsa"),
        ("weights", "weight_aligned_per_n2"),
        ("weights", "weight_scale_free"),
    ]
    for measure, metric in cells:
        for task, verdict, observed in (("flipflop", "agree", "up"), ("sine", "insufficient", "inconclusive")):
            effects.append(
                dict(
                    experiment="complexity",
                    factor="channels",
                    task=task,
                    measure=measure,
                    metric=metric,
                    networks="5, 5, 5",
                    ratio=1.5,
                    ratio_lo=1.1,
                    ratio_hi=2.0,
                    rho=0.5,
                    rho_lo=0.1,
                    rho_hi=0.9,
                    observed=observed,
                    paper="up",
                    verdict=verdict,
                )
            )
    return dict(
        summary=pd.DataFrame(summary),
        meta=pd.DataFrame(meta),
        pairwise=pd.DataFrame(pairs),
        trial=pd.DataFrame(trial),
        logs=pd.DataFrame(logs),
        effects=pd.DataFrame(effects),
    )


@pytest.fixture(scope="module")
def data():
    return make_data()


def call(name, d, out_png, out_pdf):
    fn = FIGURES[name]
    if name == "fig3":
        fn(d["summary"], d["pairwise"], d["meta"], out_png, out_pdf)
    elif name == "effects":
        fn(d["effects"], out_png, out_pdf)
    elif name == "training_curves":
        fn(d["logs"], out_png, out_pdf, threshold=1e-2)
    elif name == "example_trial":
        fn(d["trial"], out_png, out_pdf)
    else:
        fn(d["summary"], out_png, out_pdf)


@pytest.fixture
def captured(monkeypatch):
    """Figures drawn by the figure functions, kept open (their files are still written)."""
    kept = []

    def keep(fig, out_png, out_pdf):
        kept.append(fig)
        fig.savefig(out_png, dpi=60)
        fig.savefig(out_pdf)

    for module in ("factors", "effects", "training", "trial", "representations"):
        monkeypatch.setattr(getattr(figures, module), "save", keep)
    yield kept
    for fig in kept:
        plt.close(fig)


def check(out_png, out_pdf):
    assert out_png.stat().st_size > 1000 and out_pdf.stat().st_size > 1000
    assert out_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert out_pdf.read_bytes()[:5] == b"%PDF-"
    assert not [p for p in out_png.parent.iterdir() if p.name.startswith(".")]


def all_axes(fig):
    return [ax for ax in fig.get_axes()]


# ------------------------------------------------------------------ registry and rendering


def test_one_registry_matches_the_study_names():
    assert set(FIGURES) == set(FIGURE_NAMES)
    assert set(FIGURE_EXPERIMENTS) <= set(FIGURES)


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_figure_on_synthetic(name, data, tmp_path):
    out_png, out_pdf = tmp_path / "sub" / f"{name}.png", tmp_path / "sub" / f"{name}.pdf"
    call(name, data, out_png, out_pdf)
    check(out_png, out_pdf)


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_figure_on_empty(name, tmp_path):
    empty = {k: pd.DataFrame() for k in ("meta", "pairwise", "summary", "effects", "logs", "trial")}
    call(name, empty, tmp_path / f"{name}.png", tmp_path / f"{name}.pdf")
    check(tmp_path / f"{name}.png", tmp_path / f"{name}.pdf")


def test_figures_from_the_real_summary_schema(tmp_path):
    # the columns summarise() produces today (no parameter column, no optional extras)
    from degeneracy.aggregate import summarise

    rng = np.random.default_rng(0)
    meta, nets, pairs = [], [], []
    for lv in (1, 2, 3):
        c = f"ff{lv}"
        meta.append(dict(experiment="complexity", factor="channels", task="flipflop", level=float(lv), condition=c))
        for s in range(3):
            nets.append(
                dict(
                    condition=c,
                    seed=s,
                    status="converged",
                    converged=True,
                    ood_mse=rng.uniform(),
                    weight_change=1.0,
                    weight_change_rel=0.1,
                    kernel_alignment=0.9,
                    n_units=64,
                )
            )
            for b in range(s + 1, 3):
                pairs.append(dict(condition=c, seed_a=s, seed_b=b, metric="dsa", value=rng.uniform()))
                pairs.append(dict(condition=c, seed_a=s, seed_b=b, metric="weight_aligned", value=rng.uniform()))
            pairs.append(dict(condition=c, seed_a=s, seed_b=s, metric="dsa_null", value=0.01))
    meta, nets, pairs = pd.DataFrame(meta), pd.DataFrame(nets), pd.DataFrame(pairs)
    summary = summarise(meta, nets, pairs, n_boot=20, seed=0)
    for name in ("fig3", "fig5"):
        d = dict(summary=summary, pairwise=pairs, meta=meta)
        call(name, d, tmp_path / f"{name}.png", tmp_path / f"{name}.pdf")
        check(tmp_path / f"{name}.png", tmp_path / f"{name}.pdf")


def test_output_files_follow_the_umask(data, tmp_path):
    old = os.umask(0o022)
    try:
        FIGURES["fig7"](data["summary"], tmp_path / "a.png", tmp_path / "a.pdf")
    finally:
        os.umask(old)
    assert (tmp_path / "a.png").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "a.pdf").stat().st_mode & 0o777 == 0o644


def test_caller_rcparams_survive_seaborn_style(data, tmp_path):
    old = matplotlib.rcParams["font.size"]
    try:
        matplotlib.rcParams["font.size"] = 13.0
        FIGURES["fig5"](data["summary"], tmp_path / "a.png", tmp_path / "a.pdf")
        assert matplotlib.rcParams["font.size"] == 13.0
    finally:
        matplotlib.rcParams["font.size"] = old


# ------------------------------------------------------------------ what the panels say


def test_fig3_names_each_tasks_factor_and_states_the_dropped_level(data, tmp_path, captured):
    FIGURES["fig3"](data["summary"], data["pairwise"], data["meta"], tmp_path / "f.png", tmp_path / "f.pdf")
    (fig,) = captured
    axes = {ax.get_title(loc="left"): ax for ax in all_axes(fig)}
    dyn = axes["B  dynamics degeneracy"]
    # mixed knobs on one axis: the legend names path integration's knob, not "channels"
    legend_texts = [t.get_text() for leg in fig.subfigs[1].legends for t in leg.get_texts()]
    assert "path integration (x: spatial dimensions)" in legend_texts
    assert "flip-flop (x: number of channels)" in legend_texts
    # the dropped level is named with its reason in every degeneracy panel
    for title in ("B  dynamics degeneracy", "C  weight degeneracy", "D  behavior degeneracy"):
        assert "sine at 2 channels: 1 of 5 networks converged" in axes[title].get_xlabel().replace("\n", " ")
    # ... and in the MDS panel of sine
    mds_sine = axes["A  sine: DSA distances (MDS)"]
    assert "not shown: 2 channels: 1 of 5 networks converged" in mds_sine.get_xlabel().replace("\n", " ")
    # integer factor: ticks exactly at the integer levels
    np.testing.assert_array_equal(dyn.get_xticks(), [1, 2, 3])
    # path integration's own panel ticks read 2-D / 3-D
    mds_pi = axes["A  path integration: DSA distances (MDS)"]
    assert mds_pi.get_legend().get_title().get_text() == "spatial dimensions"
    assert [t.get_text() for t in mds_pi.get_legend().get_texts()] == ["2-D", "3-D"]


def test_mds_panel_keeps_the_planted_distances(data, tmp_path, captured):
    FIGURES["fig3"](data["summary"], data["pairwise"], data["meta"], tmp_path / "f.png", tmp_path / "f.pdf")
    (fig,) = captured
    ax = next(a for a in all_axes(fig) if a.get_title(loc="left") == "A  flip-flop: DSA distances (MDS)")
    offsets = [c.get_offsets() for c in ax.collections]
    assert len(offsets) == 3  # three levels, each condition's networks embedded
    for i, xy in enumerate(offsets):
        np.testing.assert_allclose(pdist(np.asarray(xy)), pdist(POINTS * (1 + i)), atol=1e-9)


def test_dsa_null_drawn_as_a_band(data):
    sub = data["summary"][data["summary"]["experiment"] == "memory"]
    fig, ax = plt.subplots()
    extras = plot_metric(ax, sub, "dynamics", task_palette(sub))
    assert "null_band" in extras
    bands = [c for c in ax.collections if c.get_hatch() == "///"]
    assert len(bands) == 1
    ys = bands[0].get_paths()[0].vertices[:, 1]
    # without an interval the band runs from 0 up to the null mean at each level
    assert ys.min() == pytest.approx(0.0)
    assert ys.max() == pytest.approx(sub["dsa_null_mean"].max())
    plt.close(fig)
    # with dsa_null_lo / dsa_null_hi the band is that interval
    sub = sub.assign(dsa_null_lo=0.03, dsa_null_hi=0.09)
    fig, ax = plt.subplots()
    assert "null_interval" in plot_metric(ax, sub, "dynamics", task_palette(sub))
    ys = next(c for c in ax.collections if c.get_hatch() == "///").get_paths()[0].vertices[:, 1]
    assert (ys.min(), ys.max()) == (pytest.approx(0.03), pytest.approx(0.09))
    plt.close(fig)
    # no band on the behavior panel
    fig, ax = plt.subplots()
    assert not plot_metric(ax, sub, "behavior", task_palette(sub)) & {"null_band", "null_interval"}
    plt.close(fig)


def test_new_summary_columns_are_used_when_present(data, tmp_path, captured):
    s = data["summary"].copy()
    s["weight_aligned_init_mean"] = 7.0
    s["weight_scale_free_mean"] = 0.3
    s["weight_scale_free_lo"] = 0.25
    s["weight_scale_free_hi"] = 0.35
    s["insufficient"] = s["level"] == 128
    s["eval_mse_mean"] = 1e-4
    s["convergence_rate"] = 1.0
    FIGURES["fig7"](s, tmp_path / "a.png", tmp_path / "a.pdf")
    FIGURES["fig4"](s, tmp_path / "b.png", tmp_path / "b.pdf")
    fig7, fig4 = captured
    titles = [ax.get_title(loc="left") for ax in fig7.get_axes()]
    assert "C  weight degeneracy, scale-free" in titles
    labels = [t.get_text() for t in fig7.legends[0].get_texts()]
    assert any(t.startswith("open marker") for t in labels)
    weights = next(ax for ax in fig4.get_axes() if ax.get_title(loc="left") == "B  memory demand: weight degeneracy")
    baseline = [line for line in weights.get_lines() if line.get_linestyle() == ":"]
    assert len(baseline) == 1 and np.allclose(baseline[0].get_ydata(), 7.0)
    assert any("initial matrices" in t.get_text() for t in fig4.legends[0].get_texts())


def test_legends_sit_outside_the_data(data, tmp_path, captured):
    FIGURES["fig3"](data["summary"], data["pairwise"], data["meta"], tmp_path / "a.png", tmp_path / "a.pdf")
    FIGURES["fig7"](data["summary"], tmp_path / "b.png", tmp_path / "b.pdf")
    FIGURES["training_curves"](data["logs"], tmp_path / "c.png", tmp_path / "c.pdf")
    FIGURES["effects"](data["effects"], tmp_path / "d.png", tmp_path / "d.pdf")
    for fig in captured:
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        legends = list(fig.legends) + [s for sub in fig.subfigs for s in sub.legends]
        legends += [ax.get_legend() for ax in fig.get_axes() if ax.get_legend() is not None]
        assert legends
        for leg in legends:
            box = leg.get_window_extent(renderer)
            for ax in fig.get_axes():
                assert not box.overlaps(ax.get_window_extent(renderer)), (leg, ax.get_title(loc="left"))


def test_log_and_binary_factors_get_ticks_at_their_levels(data, tmp_path, captured):
    FIGURES["fig4"](data["summary"], tmp_path / "a.png", tmp_path / "a.pdf")
    FIGURES["fig7"](data["summary"], tmp_path / "b.png", tmp_path / "b.pdf")
    fig4, fig7 = captured
    aux = next(ax for ax in fig4.get_axes() if ax.get_title(loc="left").startswith("D  auxiliary output"))
    assert [t.get_text() for t in aux.get_xticklabels()] == ["off", "on"]
    assert aux.get_xlabel().startswith("auxiliary output")
    mem = next(ax for ax in fig4.get_axes() if ax.get_title(loc="left").startswith("A  memory demand"))
    np.testing.assert_array_equal(mem.get_xticks(), [10, 20, 30])
    width = fig7.get_axes()[0]
    assert width.get_xscale() == "log"
    assert [t.get_text() for t in width.get_xticklabels()] == ["32", "64", "128"]


# ------------------------------------------------------------------ example trial


def test_example_trial_picks_converged_networks():
    trial = pd.DataFrame(
        [
            dict(condition=c, seed=s, converged=v, time=0, channel=0, kind="input", value=0.0)
            for c, s, v in (("a", 0, False), ("a", 2, True), ("a", 1, True), ("b", 0, False), ("b", 3, False))
        ]
    )
    shown, dropped = pick_converged(trial)
    assert shown == [("a", 1, True)]
    assert dropped == ["b (seeds 0, 3 did not converge)"]
    # convergence from the networks table when the trial has none
    bare = trial.drop(columns="converged")
    nets = pd.DataFrame(
        dict(condition=["a", "a", "a", "b", "b"], seed=[0, 1, 2, 0, 3], converged=[True, False, True, False, True])
    )
    shown, dropped = pick_converged(bare, nets)
    assert shown == [("a", 0, True), ("b", 3, True)] and dropped == []
    # nothing records convergence: shown, marked unknown
    shown, _ = pick_converged(bare)
    assert shown == [("a", 0, None), ("b", 0, None)]


def test_mask_spans_by_hand():
    t = np.arange(10)
    m = np.array([0, 1, 1, 0, 0, 0, 1, 1, 1, 1])
    assert mask_spans(t, m) == [(0.5, 2.5), (5.5, 9.5)]
    assert mask_spans(t, np.zeros(10)) == []


def test_example_trial_figure(data, tmp_path, captured):
    FIGURES["example_trial"](data["trial"], tmp_path / "a.png", tmp_path / "a.pdf")
    (fig,) = captured
    axes = fig.get_axes()
    assert len(axes) == 2  # one condition shown (the sine network did not converge)
    assert axes[0].get_title() == "complexity-flipflop-1\n(seed 1, converged)"
    assert "complexity-sine-2 (seed 0 did not converge)" in fig._suptitle.get_text().replace("\n", " ")
    # the response window (steps 12-15) is shaded on the output panel
    (span,) = axes[1].patches
    assert (span.get_x(), span.get_x() + span.get_width()) == (11.5, 15.5)
    # only seed 1 drawn: one target and one output line
    assert len(axes[1].get_lines()) == 2


# ------------------------------------------------------------------ effects grid


def test_effects_grid_columns_and_words(data, tmp_path, captured):
    FIGURES["effects"](data["effects"], tmp_path / "a.png", tmp_path / "a.pdf")
    # the older table layout (level_of_degeneracy, no metric, rho only) still draws
    old = (
        data["effects"].rename(columns={"measure": "level_of_degeneracy"}).drop(columns=["metric", "ratio", "networks"])
    )
    old = old.drop_duplicates(["task", "level_of_degeneracy"])
    FIGURES["effects"](old, tmp_path / "b.png", tmp_path / "b.pdf")
    new, legacy = captured
    ax = new.get_axes()[0]
    labels = [t.get_text() for t in ax.get_xticklabels()]
    # one column per measure (its primary metric); the other weight metric is named below
    assert labels == ["behavior\ndegeneracy", "dynamics\ndegeneracy", "weight\ndegeneracy\n(weight_aligned_per_n2)"]
    assert "weight_scale_free" in ax.get_xlabel() and "effects.md" in ax.get_xlabel()
    texts = [t.get_text() for t in ax.texts]
    assert not any("?" in t for t in texts)
    assert texts.count("\u2713 agree") == 3 and texts.count("\u2205 insufficient") == 3  # symbol and word
    assert "observed: up\npaper: up\nratio 1.50 [1.10, 2.00]" in texts
    legend = [t.get_text() for t in new.legends[0].get_texts()]
    assert "\u2713 agree (3)" in legend and "\u2205 insufficient (3)" in legend
    legacy_texts = [t.get_text() for t in legacy.get_axes()[0].texts]
    assert "observed: up\npaper: up\n\u03c1 0.50 [0.10, 0.90]" in legacy_texts


def _text_sizes(fig) -> list[float]:
    fig.canvas.draw()
    return [t.get_fontsize() for t in fig.findobj(matplotlib.text.Text) if t.get_text().strip() and t.get_visible()]


def test_effects_grid_reads_at_screen_width(tmp_path):
    """60 cells of the default study: one column per measure, text >= 9 pt at the saved size,
    the saved PNG at most ~2000 px wide (issue 31: it was 4292 px of 6-point text)."""
    from degeneracy.figures import effects as mod

    cells = [
        ("behavior", "behavior_sd"),
        ("behavior_relative", "ood_mse_cv"),
        ("behavior_relative", "ood_mse_log_sd"),
        ("dynamics", "dsa"),
        ("weights", "weight_aligned_per_n2"),
        ("weights", "weight_scale_free"),
        ("representations", "svcca"),
        ("feature_learning", "weight_change_rel"),
        ("feature_learning", "kernel_alignment"),
        ("ood_loss", "ood_mse"),
    ]
    tasks = [
        ("complexity", "channels", "flipflop"),
        ("complexity", "channels", "sine"),
        ("memory", "delay", "delayed_discrimination"),
        ("gamma", "gamma", "delayed_discrimination"),
        ("width", "width", "delayed_discrimination"),
        ("l1", "l1", "delayed_discrimination"),
    ]
    verdicts = list(mod.VERDICT_COLOURS)
    rows = [
        dict(
            experiment=e,
            factor=f,
            task=t,
            measure=m,
            metric=x,
            ratio=1.2,
            ratio_lo=0.9,
            ratio_hi=1.6,
            observed="up",
            paper="up",
            verdict=verdicts[k % len(verdicts)],
        )
        for k, ((e, f, t), (m, x)) in enumerate((a, b) for a in tasks for b in cells)
    ]
    kept = []
    real_save = mod.save
    mod_save = lambda fig, png, pdf: (kept.append(fig), real_save(fig, png, pdf))  # noqa: E731
    try:
        mod.save = mod_save
        FIGURES["effects"](pd.DataFrame(rows), tmp_path / "e.png", tmp_path / "e.pdf")
    finally:
        mod.save = real_save
    from PIL import Image

    width, height = Image.open(tmp_path / "e.png").size
    assert width <= 2000 and height <= 1600, (width, height)
    ax = kept[0].get_axes()[0]
    assert len(ax.get_xticklabels()) == 4 and len(ax.get_yticklabels()) == 6
    assert min(_text_sizes(kept[0])) >= mod.FONT_PT
    heads = [t.get_text() for t in ax.texts if t.get_text()[:1] in mod.VERDICT_SYMBOLS.values()]
    assert len(heads) == 24 and all(t.split(" ", 1)[1] in mod.VERDICT_COLOURS for t in heads)
    plt.close(kept[0])


def _overlapping(labels) -> bool:
    boxes = [t.get_window_extent() for t in labels if t.get_text() and t.get_visible()]
    return any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1 :])


def test_fig3_mds_panels_fit_their_data_with_the_legend_below(data, tmp_path, captured):
    """Panel A (issue 31): equal axes fitted to the points (not -3..3 around points within 0.3),
    the legend below the panel, readable non-overlapping ticks."""
    import itertools

    rng = np.random.default_rng(0)
    keys = [
        (c, s) for c in ("complexity-flipflop-1", "complexity-flipflop-2", "complexity-flipflop-3") for s in range(5)
    ]
    X = rng.normal(0, 0.1, (len(keys), 2))
    D = squareform(pdist(X))
    joint = pd.DataFrame(
        [(*keys[i], *keys[j], D[i, j]) for i, j in itertools.combinations(range(len(keys)), 2)],
        columns=["condition_a", "seed_a", "condition_b", "seed_b", "value"],
    )
    FIGURES["fig3"](
        data["summary"], data["pairwise"], data["meta"], tmp_path / "a.png", tmp_path / "a.pdf", joint=joint
    )
    fig = captured[0]
    fig.canvas.draw()
    panels = [ax for ax in fig.get_axes() if "MDS" in ax.get_title(loc="left")]
    assert len(panels) == 3
    for ax in panels:
        pts = np.vstack([c.get_offsets() for c in ax.collections])
        span = np.ptp(pts, axis=0).max()
        (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
        assert x1 - x0 <= 1.5 * span and y1 - y0 <= 1.5 * span, (ax.get_title(loc="left"), span, x1 - x0)
        assert x1 - x0 == pytest.approx(y1 - y0)  # equal axes
        assert not _overlapping(ax.get_xticklabels()) and not _overlapping(ax.get_yticklabels())
        legend = ax.get_legend().get_window_extent()
        assert legend.y1 <= ax.get_window_extent().y0  # below the panel, not beside it
        assert min(t.get_fontsize() for t in ax.get_legend().get_texts()) >= 7


def test_example_trial_without_convergence_does_not_claim_it(data, tmp_path, captured):
    bare = data["trial"].drop(columns="converged")
    bare = bare[bare["kind"] != "mask"]
    FIGURES["example_trial"](bare, tmp_path / "a.png", tmp_path / "a.pdf")
    (fig,) = captured
    assert fig._suptitle.get_text().startswith("Example trial per condition (convergence not recorded")
    titles = [ax.get_title() for ax in fig.get_axes()[:2]]
    assert titles == [
        "complexity-flipflop-1\n(seed 0, convergence not recorded)",
        "complexity-sine-2\n(seed 0, convergence not recorded)",
    ]
    assert not any(ax.patches for ax in fig.get_axes())  # no mask recorded: nothing shaded
    assert "(loss mask not recorded)" in [t.get_text() for t in fig.legends[0].get_texts()]
    # with the networks table, the non-converged flip-flop seed 0 gives way to seed 1
    nets = pd.DataFrame(
        dict(
            condition=["complexity-flipflop-1"] * 2 + ["complexity-sine-2"],
            seed=[0, 1, 0],
            converged=[False, True, False],
        )
    )
    FIGURES["example_trial"](bare, tmp_path / "b.png", tmp_path / "b.pdf", networks=nets)
    assert captured[1].get_axes()[0].get_title() == "complexity-flipflop-1\n(seed 1, converged)"
    assert len(captured[1].get_axes()) == 2


def test_svcca_figure_one_panel_per_experiment_reads_back_the_planted_values(data, tmp_path, captured):
    s = data["summary"]
    FIGURES["svcca"](s, tmp_path / "s.png", tmp_path / "s.pdf")
    check(tmp_path / "s.png", tmp_path / "s.pdf")
    (fig,) = captured
    axes = [ax for ax in fig.get_axes() if ax.get_visible() and ax.get_title(loc="left")]
    titles = [ax.get_title(loc="left") for ax in axes]
    exps = [e[0] for e in EXPERIMENTS]
    assert titles == [f"{letter}  {e}: representations" for letter, e in zip("ABCDEFG", exps)]
    for ax, (exp, factor, tasks) in zip(axes, EXPERIMENTS):
        assert ax.get_ylabel().startswith("mean pairwise SVCCA distance")
        plotted = {}
        from matplotlib.collections import PathCollection

        for coll in [c for c in ax.collections if isinstance(c, PathCollection)]:  # one scatter per task
            for x, y in np.asarray(coll.get_offsets()):
                plotted[(round(float(x), 6), round(float(y), 6))] = True
        expected = set()
        for task, (parameter, levels) in tasks.items():
            for i, lv in enumerate(levels):
                if f"{exp}-{task}-{lv:g}" != SPARSE:
                    expected.add((round(float(lv), 6), svcca_value(exp, task, i)))
        assert set(plotted) == expected, exp
        # error bars span the planted interval: lo = value - 0.03, hi = value + 0.04
        spans = {
            round(float(np.ptp(seg[:, 1])), 6)
            for c in ax.collections
            for seg in getattr(c, "get_segments", lambda: [])()
        }
        assert 0.07 in spans
    complexity = axes[0]
    assert "sine at 2 channels: 1 of 5 networks converged" in complexity.get_xlabel().replace("\n", " ")
    assert axes[exps.index("gamma")].get_xscale() == "log"


def test_svcca_figure_without_svcca_says_so(data, tmp_path, captured):
    FIGURES["svcca"](data["summary"].drop(columns=["svcca_mean"]), tmp_path / "s.png", tmp_path / "s.pdf")
    FIGURES["svcca"](pd.DataFrame(), tmp_path / "e.png", tmp_path / "e.pdf")
    texts = [t.get_text() for fig in captured for ax in fig.get_axes() for t in ax.texts]
    assert texts.count("no SVCCA in this summary") == len(EXPERIMENTS) and "no data" in texts


def test_effects_grid_shows_the_new_rows_with_their_own_words(tmp_path, captured):
    from degeneracy.stats import effects_table
    from degeneracy.stats.synthetic import synthetic_study

    exps = (
        ("complexity", "channels", "flipflop"),
        ("gamma", "gamma", "sine"),
        ("auxiliary", "auxiliary", "delayed_discrimination"),
    )
    meta, nets, pairs = synthetic_study(np.random.default_rng(0), n_seeds=6, experiments=exps, extras=True)
    eff = effects_table(meta, nets, pairs, n_boot=100, seed=0)
    FIGURES["effects"](eff, tmp_path / "a.png", tmp_path / "a.pdf")
    (fig,) = captured
    ax = fig.get_axes()[0]
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels[:2] == ["behavior\ndegeneracy", "dynamics\ndegeneracy"]
    assert labels[2].startswith("weight\ndegeneracy") and labels[3].startswith("representational\ndegeneracy")
    assert len(labels) == 4
    note = ax.get_xlabel().replace("\n", " ")
    assert "feature learning" in note and "mean OOD loss" in note and "fixed points" in note
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert any(t.startswith("\u2713 agree (") for t in legend)


def test_collect_figure_passes_the_networks_rows_to_the_example_trial(data, tmp_path, captured):
    """The rule's networks inputs reach the figure (issue 31): with a trial table that records no
    convergence, the figure shows only converged networks and its title says so."""
    from pathlib import Path

    from degeneracy.pipeline.collect import figure
    from degeneracy.pipeline.extract import NETWORK_COLUMNS

    bare = data["trial"].drop(columns="converged")
    trial_paths, net_paths = [], []
    for (cond, seed), g in bare.groupby(["condition", "seed"]):
        trial_paths.append(tmp_path / f"trial_{cond}_{seed}.parquet")
        g.to_parquet(trial_paths[-1], index=False)
        row = {
            c: (0 if t in ("int64",) else False if t == "bool" else "" if t == "string" else np.nan)
            for c, t in NETWORK_COLUMNS.items()
        }
        conv = (cond, seed) == ("complexity-flipflop-1", 1)
        row.update(condition=cond, seed=seed, status="converged" if conv else "not_converged", converged=conv)
        net_paths.append(tmp_path / f"net_{cond}_{seed}.parquet")
        pd.DataFrame([row]).astype(NETWORK_COLUMNS).to_parquet(net_paths[-1], index=False)
    figure(
        "example_trial", {}, tmp_path / "t.png", tmp_path / "t.pdf", trial_path=trial_paths, networks_paths=net_paths
    )
    (fig,) = captured
    titles = [ax.get_title() for ax in fig.get_axes() if ax.get_title()]
    assert titles == ["complexity-flipflop-1\n(seed 1, converged)"]  # sine seed 0 did not converge: left out
    suptitle = fig._suptitle.get_text()
    assert suptitle.startswith("Example trial of a converged network per condition")
    assert "not recorded" not in suptitle and "complexity-sine-2 (seed 0 did not converge)" in suptitle.replace(
        "\n", " "
    )
    # the rule script passes the rows unconditionally (no signature probing)
    script = (Path(__file__).resolve().parents[1] / "rules" / "scripts" / "figure.py").read_text()
    assert "inspect" not in script and 'networks_paths=list(getattr(inp, "networks", []))' in script


def test_one_factor_figures_wrap_beyond_four_panels(data, tmp_path, captured):
    """fig6 has five panels of one factor: side by side they made a 3121 px strip whose text
    shrank below legibility at page width; they wrap onto a second row of three."""
    call("fig6", data, tmp_path / "fig6.png", tmp_path / "fig6.pdf")
    fig = captured[-1]
    shown = [ax for ax in fig.get_axes() if ax.get_visible() and ax.get_title(loc="left")]
    assert len(shown) == 5
    assert fig.get_figwidth() <= 3.7 * 3 + 2.2 + 1e-9
    rows = {round(ax.get_position().y0, 3) for ax in shown}
    assert len(rows) == 2
