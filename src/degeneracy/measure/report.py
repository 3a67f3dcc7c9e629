"""Files of a ``measure`` run: Parquet tables, figures, a short Markdown report and a manifest.

The run writes one folder as a unit: every file goes into a temporary sibling folder
(``.<name>.measure-XXXX``), which replaces ``--out`` only when everything was written. A failed
run leaves the previous folder as it was; a successful run leaves only the files it wrote, listed
in ``manifest.json``. Files: ``networks.parquet``, ``pairwise.parquet``, ``distances.parquet``,
``summary.parquet``, ``effects.parquet`` (ordered groups only), ``mds_dsa.png`` (classical MDS of
the DSA distances, coloured by group), ``distances.png`` (one heatmap per distance metric,
networks sorted by group), ``report.md`` and ``manifest.json``.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .formats import MeasureInputError, safe_text

if TYPE_CHECKING:  # pragma: no cover
    from .core import MeasureResult

__all__ = [
    "write_outputs",
    "fig_mds",
    "fig_heatmaps",
    "report_markdown",
    "check_out",
    "MeasureOutputError",
    "KNOWN_OUTPUTS",
    "MANIFEST",
]

MANIFEST = "manifest.json"
#: every file name a ``measure`` run may write (a folder holding only these can be replaced)
KNOWN_OUTPUTS = (
    "networks.parquet",
    "pairwise.parquet",
    "distances.parquet",
    "summary.parquet",
    "effects.parquet",
    "mds_dsa.png",
    "distances.png",
    "report.md",
    MANIFEST,
)


class MeasureOutputError(RuntimeError):
    """Writing the output folder failed; the previous folder (if any) is left as it was."""


def _writable(path: Path) -> bool:
    return os.access(path, os.W_OK | os.X_OK)


def check_out(out: str | Path) -> Path:
    """Check ``--out`` before any work: it must be a folder (or not exist), writable, with a
    writable parent (the new folder is written beside it and swapped in), and hold only files of
    an earlier ``measure`` run (the whole folder is replaced). Returns the folder's path.
    Raises :class:`MeasureInputError` naming the folder and the problem."""
    out = Path(out)
    name = safe_text(out)
    if out.name in ("", ".", ".."):
        raise MeasureInputError(f"{name}: --out must name a folder of its own (it is replaced as a whole)")
    if out.exists() or out.is_symlink():
        if not out.is_dir():
            raise MeasureInputError(f"{name}: --out exists and is not a folder; name a new or earlier output folder")
        if not _writable(out):
            raise MeasureInputError(f"{name}: --out folder is not writable (permission denied)")
        try:
            listed = json.loads((out / MANIFEST).read_text(encoding="utf-8")).get("files", [])
        except (OSError, ValueError, AttributeError):
            listed = []
        allowed = set(KNOWN_OUTPUTS) | {str(f) for f in listed}
        foreign = sorted(e.name for e in out.iterdir() if e.name not in allowed or not (e.is_file() or e.is_symlink()))
        if foreign:
            shown = ", ".join(safe_text(f) for f in foreign[:5]) + (
                f" and {len(foreign) - 5} more" if len(foreign) > 5 else ""
            )
            raise MeasureInputError(
                f"{name}: --out holds files no measure run wrote ({shown}); the folder is replaced as a whole, "
                "so name a new or empty folder"
            )
    parent = out.absolute().parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir() or not _writable(parent):
        raise MeasureInputError(f"{name}: cannot write beside --out: {safe_text(parent)} is not a writable folder")
    return out


_LABELS = {
    "dsa": "DSA distance",
    "svcca": "SVCCA distance",
    "weight_aligned": "weight distance (aligned)",
}


def _savefig(fig, path: Path) -> None:
    import matplotlib.pyplot as plt

    from degeneracy.io import _atomic_write  # the project's one atomic writer (umask-aware)

    try:
        _atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=150, bbox_inches="tight"))
    finally:
        plt.close(fig)


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _plain(text: object) -> str:
    """A label drawn as written: ``$`` would start matplotlib math text (a file name with
    ``$\\frac{$`` would fail the figure)."""
    return safe_text(text).replace("$", r"\$")


def _colours(order: list[str]) -> dict[str, tuple]:
    plt = _plt()
    cmap = plt.get_cmap("viridis" if len(order) > 10 else "tab10")
    n = max(1, len(order) - 1) if len(order) > 10 else 10
    return {g: cmap(i / n if len(order) > 10 else i % 10) for i, g in enumerate(order)}


def fig_mds(D: np.ndarray, groups: list[str], order: list[str], path: str | Path, title: str = "DSA distances") -> None:
    """Classical MDS (2-D) of a k x k distance matrix, one colour per group; writes a PNG."""
    from degeneracy.metrics.mds import classical_mds

    plt = _plt()
    fig, ax = plt.subplots(figsize=(4.6, 4.0))
    if D is None or not np.isfinite(D).all() or D.shape[0] < 2:
        ax.text(0.5, 0.5, "no finite distances", ha="center", va="center", transform=ax.transAxes)
    else:
        X = classical_mds(D, 2)
        col = _colours(order)
        for g in order:
            idx = [i for i, x in enumerate(groups) if x == g]
            ax.scatter(
                X[idx, 0],
                X[idx, 1],
                color=col[g],
                label=_plain(f"{g} (n={len(idx)})"),
                s=28,
                edgecolor="k",
                linewidth=0.4,
            )
        ax.legend(fontsize=7, frameon=False, loc="best")
        ax.set_xlabel("MDS 1")
        ax.set_ylabel("MDS 2")
        ax.set_aspect("equal", adjustable="datalim")
    ax.set_title(f"MDS of {title}", fontsize=9)
    _savefig(fig, Path(path))


def fig_heatmaps(
    matrices: dict[str, np.ndarray],
    groups: list[str],
    order: list[str],
    path: str | Path,
    names: list[str] | None = None,
) -> None:
    """One heatmap per distance metric (networks sorted by group, group borders drawn); PNG."""
    plt = _plt()
    shown = [m for m in ("dsa", "svcca", "weight_aligned") if m in matrices]
    perm = sorted(range(len(groups)), key=lambda i: (order.index(groups[i]), i))
    fig, axes = plt.subplots(
        1, max(1, len(shown)), figsize=(4.2 * max(1, len(shown)), 3.6), squeeze=False, layout="constrained"
    )
    labels = [_plain(names[i]) for i in perm] if names is not None and len(perm) <= 24 else None
    if not shown:
        axes[0, 0].text(0.5, 0.5, "no distances computed", ha="center", va="center")
    bounds = np.cumsum([groups.count(g) for g in order])[:-1] - 0.5
    for ax, m in zip(axes[0], shown):
        D = np.asarray(matrices[m], dtype=float)[np.ix_(perm, perm)].copy()
        np.fill_diagonal(D, np.nan)  # the zero diagonal would set the colour scale
        im = ax.imshow(np.ma.masked_invalid(D), cmap="magma_r", interpolation="nearest")
        for b in bounds:
            ax.axhline(b, color="w", lw=1.0)
            ax.axvline(b, color="w", lw=1.0)
        ax.set_title(_LABELS.get(m, m), fontsize=9)
        ax.set_xlabel("network (sorted by group)", fontsize=8)
        if labels is not None:
            ax.set_xticks(range(len(labels)), labels, rotation=90, fontsize=6)
            ax.set_yticks(range(len(labels)), labels, fontsize=6)
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.02)
    _savefig(fig, Path(path))


def _fmt(x, digits: int = 3) -> str:
    try:
        x = float(x)
    except (TypeError, ValueError):
        return str(x)
    return "-" if not math.isfinite(x) else f"{x:.{digits}g}"


def _interval(r, col: str) -> str:
    mean = getattr(r, f"{col}_mean", math.nan)
    lo, hi = getattr(r, f"{col}_lo", math.nan), getattr(r, f"{col}_hi", math.nan)
    return f"{_fmt(mean)} [{_fmt(lo)}, {_fmt(hi)}]" if math.isfinite(float(mean)) else "-"


def _cell(x) -> str:
    """Text for a Markdown table cell: printable, no column separator."""
    return safe_text(x).replace("|", "/")


def _more_than_noise(r) -> list[str]:
    """Rows of the "more than noise?" table for one summary row ``r``."""
    rows = []
    dsa, null = float(getattr(r, "dsa_mean", math.nan)), float(getattr(r, "dsa_null_mean", math.nan))
    if math.isfinite(dsa):
        lo, nhi = float(getattr(r, "dsa_lo", math.nan)), float(getattr(r, "dsa_null_hi", math.nan))
        if not math.isfinite(null):
            reading = "no noise floor (too few trials, or --no-dsa-null)"
        elif math.isfinite(lo) and math.isfinite(nhi) and lo > nhi:
            reading = "yes: the interval lies above the noise floor's"
        else:
            reading = "not shown: the intervals overlap"
        rows.append(
            f"| {_cell(r.condition)} | dynamics (DSA) | {_interval(r, 'dsa')} | within-network null "
            f"(two halves of one network's trials): {_interval(r, 'dsa_null')} | {reading} |"
        )
    w = float(getattr(r, "weight_mean", math.nan))
    if math.isfinite(w):
        un = float(getattr(r, "weight_unaligned_mean", math.nan))
        init = float(getattr(r, "weight_aligned_init_mean", math.nan))
        base = f"unaligned: {_fmt(un)}"
        if math.isfinite(init):
            base += f"; initial matrices, aligned: {_interval(r, 'weight_aligned_init')}"
        if math.isfinite(init):
            hi_init = float(getattr(r, "weight_aligned_init_lo", math.nan))
            reading = (
                "the trained networks differ more than their initial matrices did"
                if math.isfinite(hi_init) and float(getattr(r, "weight_lo", math.nan)) > float(r.weight_aligned_init_hi)
                else "no more than their initial matrices did"
            )
        elif math.isfinite(un) and un > 0:
            reading = f"alignment removes {1 - w / un:.0%} of the unaligned distance (no initial matrices given)"
        else:
            reading = "-"
        rows.append(f"| {_cell(r.condition)} | weights (aligned) | {_interval(r, 'weight')} | {base} | {reading} |")
    sv = float(getattr(r, "svcca_mean", math.nan))
    if math.isfinite(sv):
        sh_lo = float(getattr(r, "svcca_shuffled_lo", math.nan))
        hi = float(getattr(r, "svcca_hi", math.nan))
        if not math.isfinite(sh_lo):
            reading = "-"
        elif math.isfinite(hi) and hi < sh_lo:
            reading = "yes: more alike than unrelated representations (interval below the baseline's)"
        else:
            reading = "no: as far apart as unrelated representations"
        rows.append(
            f"| {_cell(r.condition)} | representations (SVCCA) | {_interval(r, 'svcca')} | samples shuffled: "
            f"{_interval(r, 'svcca_shuffled')} | {reading} |"
        )
    return rows


def report_markdown(result: "MeasureResult", figures: list[str]) -> str:
    """A short Markdown report of a :class:`~degeneracy.measure.core.MeasureResult`."""
    s = result.settings
    nets = result.networks
    lines = ["# Degeneracy of the measured networks", ""]
    lines.append(
        f"{len(nets)} networks in {len(s['levels'])} group(s) (group key `{_cell(s['group_by'])}`"
        + (", ordered" if s["ordered"] else "")
        + f"); metrics: {', '.join(s['metrics']) or 'none'}."
    )
    d = s["dsa"]
    lines.append(
        f"DSA: rank {d['rank']}, {d['n_delays']} delays x interval {d['delay_interval']}, mode {d['mode']}. "
        f"SVCCA keeps {s['svcca']['variance']:.0%} of the variance. Intervals: 95% bootstrap over networks "
        f"({s['aggregate']['n_boot']} replicates)."
    )
    conv = nets["converged"] if "converged" in nets.columns else None
    n_unknown = int(conv.isna().sum()) if conv is not None else 0
    if n_unknown:
        lines.append(
            f"Convergence: unknown for {n_unknown} of {len(nets)} networks (their files have no `converged` key); "
            "they are all included, and the convergence rate is not reported."
        )
    lines += [
        "",
        "## Networks",
        "",
        "| name | group | units | trials x time | OOD loss | converged |",
        "|---|---|---|---|---|---|",
    ]
    for r in nets.itertuples(index=False):
        c = "unknown" if conv is None or _missing(r.converged) else ("yes" if bool(r.converged) else "no")
        lines.append(
            f"| {_cell(r.name)} | {_cell(r.group)} | {r.n_units} | {r.n_trials} x {r.n_time} | {_fmt(r.ood_mse)} | {c} |"
        )
    lines += [
        "",
        "## Degeneracy per group",
        "",
        "Behavior: SD of the OOD loss; dynamics: mean pairwise DSA; weights: mean permutation-aligned "
        "distance; representations: mean pairwise SVCCA. Each with its 95% interval.",
        "",
        "| group | networks | behavior SD | DSA | DSA null | weights | SVCCA |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in result.summary.itertuples(index=False):
        beh = (
            f"{_fmt(r.behavior_sd)} [{_fmt(r.behavior_sd_lo)}, {_fmt(r.behavior_sd_hi)}]"
            if math.isfinite(r.behavior_sd)
            else "-"
        )
        lines.append(
            f"| {_cell(r.condition)} | {r.n_converged} | {beh} | {_interval(r, 'dsa')} | {_interval(r, 'dsa_null')} | "
            f"{_interval(r, 'weight')} | {_interval(r, 'svcca')} |"
        )
    noise = [row for r in result.summary.itertuples(index=False) for row in _more_than_noise(r)]
    if noise:
        lines += [
            "",
            "## Is it more than noise?",
            "",
            "Each distance beside its baseline. DSA: the within-network null, the distance between two halves "
            "of one network's trials (a between-network distance inside it is noise). Weights: the distance "
            "before aligning the units, and, when the files give `W0`, the aligned distance of the initial "
            "matrices (what training started from). SVCCA: the distance after shuffling one network's samples "
            "(what unrelated representations give).",
            "",
            "| group | level | between networks [95% CI] | baseline | more than noise? |",
            "|---|---|---|---|---|",
            *noise,
        ]
    if result.effects is not None and len(result.effects):
        eff = result.effects
        alpha = float(eff["alpha"].dropna().iloc[0]) if "alpha" in eff and eff["alpha"].notna().any() else 0.05
        corr = (
            str(eff["correction"].dropna().iloc[0])
            if "correction" in eff and eff["correction"].notna().any()
            else "Holm"
        )
        lines += [
            "",
            "## Trend across groups",
            "",
            f"The rule: a trend is called `up` or `down` only when its p-value, adjusted ({corr}) over the tested "
            f"rows of its family (primary: behavior, dynamics, weights; secondary: the rest), is below {alpha:g}. "
            'The p-value tests "degeneracy at the highest level / '
            'at the lowest = 1" (ratio with its 95% bootstrap interval); Spearman rho between the group level and '
            "each group's degeneracy describes the trend across all groups. Otherwise the trend is `no clear "
            "trend` (or `not tested`, with the reason).",
            "",
            "| level of degeneracy | metric | groups | ratio [95% CI] | rho [95% CI] | p (adjusted) | observed | note |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for r in eff.itertuples(index=False):
            ratio = f"{_fmt(getattr(r, 'ratio', math.nan), 3)} [{_fmt(getattr(r, 'ratio_lo', math.nan), 3)}, {_fmt(getattr(r, 'ratio_hi', math.nan), 3)}]"
            lines.append(
                f"| {r.level_of_degeneracy} | {r.metric} | {r.n_levels} | {ratio} | {_fmt(r.rho, 2)} [{_fmt(r.rho_lo, 2)}, "
                f"{_fmt(r.rho_hi, 2)}] | {_fmt(getattr(r, 'p_value', math.nan), 2)} ({_fmt(getattr(r, 'p_adjusted', math.nan), 2)}) "
                f"| {r.observed} | {_cell(r.reason)} |"
            )
    if figures:
        lines += ["", "## Figures", ""] + [f"![{f}]({f})" for f in figures]
    if result.notes:
        lines += ["", "## Notes", ""] + [f"- {_cell(n)}" for n in result.notes]
    lines += [
        "",
        "Tables: `networks.parquet`, `pairwise.parquet` (pairs within groups, study schema), "
        "`distances.parquet` (all pairs), `summary.parquet`"
        + (", `effects.parquet`" if result.effects is not None else "")
        + f" (docs/measure.md); `{MANIFEST}` lists every file of this run.",
        "",
    ]
    return "\n".join(lines)


def _missing(v) -> bool:
    import pandas as pd

    return v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v))


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _write_all(result: "MeasureResult", out: Path, figures: bool) -> list[str]:
    """Every file of the run into folder ``out`` (the staging folder); returns their names."""
    from degeneracy.io import atomic_write_parquet, atomic_write_text

    atomic_write_parquet(result.networks, out / "networks.parquet")
    atomic_write_parquet(result.pairwise, out / "pairwise.parquet")
    atomic_write_parquet(result.distances, out / "distances.parquet")
    atomic_write_parquet(result.summary, out / "summary.parquet")
    names = ["networks.parquet", "pairwise.parquet", "distances.parquet", "summary.parquet"]
    if result.effects is not None:
        atomic_write_parquet(result.effects, out / "effects.parquet")
        names.append("effects.parquet")
    figs: list[str] = []
    if figures:
        groups = result.networks["group"].astype(str).tolist()
        order = list(result.settings["levels"])
        if "dsa" in result.matrices:
            fig_mds(result.matrices["dsa"], groups, order, out / "mds_dsa.png")
            figs.append("mds_dsa.png")
        if result.matrices:
            names_ = result.networks["name"].astype(str).tolist()
            fig_heatmaps(result.matrices, groups, order, out / "distances.png", names_)
            figs.append("distances.png")
    names += figs
    atomic_write_text(report_markdown(result, figs), out / "report.md")
    names.append("report.md")
    return names


def write_outputs(result: "MeasureResult", out: str | Path, figures: bool = True) -> list[Path]:
    """Write every table, the figures (``figures=True``), ``report.md`` and ``manifest.json``
    into a temporary folder beside ``out`` and swap it in for ``out`` only when all succeeded
    (module doc). Returns the written paths (in ``out``). Raises :class:`MeasureInputError` for
    an unusable ``out`` and :class:`MeasureOutputError` when writing fails (``out`` untouched)."""
    from degeneracy.io import _umask

    out = check_out(out)
    out.absolute().parent.mkdir(parents=True, exist_ok=True)
    try:
        stage = Path(tempfile.mkdtemp(dir=out.absolute().parent, prefix=f".{out.name}.measure-"))
    except OSError as exc:
        raise MeasureOutputError(f"{safe_text(out)}: cannot write beside it ({exc.strerror or exc})") from exc
    old: Path | None = None
    try:
        os.chmod(stage, 0o777 & ~_umask())
        names = _write_all(result, stage, figures)
        manifest = {
            "tool": "degeneracy measure",
            "files": names + [MANIFEST],
            "sha256": {n: _sha256(stage / n) for n in names},
            "networks": result.networks["path"].astype(str).tolist(),
            "settings": result.settings,
        }
        (stage / MANIFEST).write_text(json.dumps(manifest, indent=1, default=str) + "\n", encoding="utf-8")
        os.chmod(stage / MANIFEST, 0o666 & ~_umask())
        if out.exists() or out.is_symlink():
            old = Path(tempfile.mkdtemp(dir=out.absolute().parent, prefix=f".{out.name}.old-"))
            os.rename(out, old / "previous")
        try:
            os.rename(stage, out)
        except OSError:
            if old is not None:  # put the previous run back
                os.rename(old / "previous", out)
                shutil.rmtree(old, ignore_errors=True)
                old = None
            raise
    except MeasureInputError:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    except Exception as exc:
        shutil.rmtree(stage, ignore_errors=True)
        raise MeasureOutputError(
            f"{safe_text(out)}: writing the results failed ({type(exc).__name__}: {safe_text(' '.join(str(exc).split()))}); "
            "the folder was left as it was"
        ) from exc
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return [out / n for n in manifest["files"]]
