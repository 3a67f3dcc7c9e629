"""The results page: one self-contained HTML file per study, ``results/<study>/results.html``.

What it shows (docs/outputs.md#resultshtml):

- the effects table (``effects.parquet``), one row per cell, the verdict as a symbol, a word and
  a colour (the colours of the effects figure), the effect with its interval (``ratio`` or, where
  ``effect_scale == "difference"``, ``difference``), the adjusted p and the reason;
- per experiment: convergence per condition (``n_converged / n_seeds``, ``convergence_rate`` with
  its Wilson interval, the exclusions) and the between-network DSA beside the within-network DSA
  null, each with its interval (``summary/<experiment>.parquet``);
- every figure, embedded as a PNG data URI (placed once, in the section of its first experiment,
  linked from its other experiments; study-wide figures in their own section);
- relative links to the Parquet tables and the figures' PDFs.

No external resource: styles are inline, images are data URIs, there is no script, and a
Content-Security-Policy forbids anything else. Every string from a table is escaped.

Importing this module is cheap (standard library only; pandas inside the functions), so the
workflow reads the figure captions with :func:`captions_from_rst` when it is parsed.

Command line (the same page without Snakemake)::

    python -m degeneracy.results_page results/<study>     # -> results/<study>/results.html
"""

from __future__ import annotations

import argparse
import base64
import datetime as _dt
import html
import math
import re
from pathlib import Path
from typing import Any, Mapping, Sequence

__all__ = [
    "PAGE_NAME",
    "LINKED_TABLES",
    "effect_text",
    "verdict_style",
    "captions_from_rst",
    "render_page",
    "build_page",
    "write_page",
]

#: File name of the page in the study folder.
PAGE_NAME = "results.html"
#: Study-wide tables linked from the page (relative to the study folder), when present.
LINKED_TABLES: tuple[tuple[str, str], ...] = (
    ("effects.parquet", "the verdict table (docs/outputs.md: effects.parquet)"),
    ("effects.md", "the same table as Markdown, with the verdict counts"),
    ("meta.parquet", "which condition each level of each experiment trained"),
    ("networks.parquet", "one row per network, with its status and whether it counts"),
    ("pairwise.parquet", "one row per pair of converged networks and metric"),
)
_OTHER_COLOUR = "#dddddd"
#: How strongly the verdict colour tints its cell (as in the effects figure: alpha 0.55 on white).
_TINT = 0.55

_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"

_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
       margin: 1.5em; color: #222; background: #fff; line-height: 1.35; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.3em; margin-top: 1.6em; border-bottom: 1px solid #ccc; }
h3 { font-size: 1.1em; margin-top: 1.2em; }
p.meta, p.note { color: #555; font-size: 0.9em; }
table { border-collapse: collapse; font-size: 0.8em; margin: 0.5em 0 1em 0; }
table.effects { width: 100%; }
th, td { border: 1px solid #ccc; padding: 2px 5px; vertical-align: top; text-align: left; }
th { background: #f2f2f2; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
span.ci { display: block; color: #555; white-space: nowrap; }
td.verdict { font-weight: 600; }
td.reason { min-width: 12em; color: #333; }
tr.insufficient td { color: #888; }
span.chip { display: inline-block; padding: 1px 8px; margin: 2px 4px 2px 0; border-radius: 3px;
            border: 1px solid #bbb; font-size: 0.85em; }
figure { margin: 1em 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #ddd; }
figcaption { font-size: 0.85em; color: #444; max-width: 60em; }
nav a { margin-right: 1em; }
"""


# ---------------------------------------------------------------- small formatters


def _e(x: Any) -> str:
    """The escaped text of ``x`` (missing values as an empty string)."""
    if _missing(x):
        return ""
    return html.escape(str(x), quote=True)


def _missing(x: Any) -> bool:
    if x is None:
        return True
    try:
        import pandas as pd

        if x is pd.NA:
            return True
    except ImportError:  # pragma: no cover - pandas is a dependency
        pass
    return isinstance(x, float) and math.isnan(x)


def _float(x: Any) -> float:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return math.nan
    return v


def _num(x: Any, digits: int = 3, signed: bool = False) -> str:
    """``x`` to ``digits`` significant digits; '—' when missing or not finite."""
    v = _float(x)
    if not math.isfinite(v):
        return "\u2014"
    return f"{v:+.{digits}g}" if signed else f"{v:.{digits}g}"


def _interval(lo: Any, hi: Any, digits: int = 3, signed: bool = False) -> str:
    a, b = _float(lo), _float(hi)
    if not (math.isfinite(a) and math.isfinite(b)):
        return ""
    return f" [{_num(a, digits, signed)}, {_num(b, digits, signed)}]"


def _breakable(x: Any) -> str:
    """Escaped ``x`` that may wrap after its underscores."""
    return _e(x).replace("_", "_<wbr>")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-") or "x"


def _tint(colour: str, alpha: float = _TINT) -> str:
    """``colour`` (#rrggbb) at opacity ``alpha`` on white, as #rrggbb."""
    c = colour.lstrip("#")
    rgb = [int(c[i : i + 2], 16) for i in (0, 2, 4)]
    return "#" + "".join(f"{round(alpha * v + (1 - alpha) * 255):02x}" for v in rgb)


def _verdicts() -> tuple[dict[str, str], dict[str, str]]:
    """(colours, symbols) of the verdicts, those of the effects figure."""
    from degeneracy.figures.effects import VERDICT_COLOURS, VERDICT_SYMBOLS

    return dict(VERDICT_COLOURS), dict(VERDICT_SYMBOLS)


def verdict_style(verdict: str) -> tuple[str, str, str]:
    """(CSS class, background colour, symbol) of a verdict; unknown verdicts are grey with '?'."""
    colours, symbols = _verdicts()
    v = str(verdict)
    if v in colours:
        return f"v-{_slug(v)}", _tint(colours[v]), symbols.get(v, "?")
    return "v-other", _tint(_OTHER_COLOUR), "?"


def effect_text(row: Mapping[str, Any]) -> str:
    """The cell's effect with its interval, as plain text: ``ratio 2.5 [1.3, 4.1]`` or, where
    ``effect_scale`` is ``difference``, ``difference +0.057 [-0.012, +0.12]``; '—' when the
    effect is undefined."""
    if str(row.get("effect_scale", "")) == "difference":
        v = _float(row.get("difference"))
        if not math.isfinite(v):
            return "difference \u2014"
        return (
            "difference "
            + _num(v, signed=True)
            + _interval(row.get("difference_lo"), row.get("difference_hi"), signed=True)
        )
    v = _float(row.get("ratio"))
    if not math.isfinite(v):
        return "ratio \u2014"
    return "ratio " + _num(v) + _interval(row.get("ratio_lo"), row.get("ratio_hi"))


def _effect_html(row: Mapping[str, Any]) -> str:
    """:func:`effect_text`, escaped, with the interval on its own line."""
    text = effect_text(row)
    value, sep, interval = text.partition(" [")
    return _e(value) + (f'<span class="ci">{_e(sep.strip() + interval)}</span>' if sep else "")


def captions_from_rst(path: Path | str) -> dict[str, str]:
    """{figure name: caption} from the ``captions`` mapping of ``report/figure.rst`` (the
    captions of ``snakemake --report``); {} when the file is absent."""
    p = Path(path)
    if not p.is_file():
        return {}
    text = p.read_text(encoding="utf-8")
    return dict(re.findall(r'^\s*"([\w-]+)":\s*"((?:[^"\\]|\\.)*)",?\s*$', text, flags=re.M))


# ---------------------------------------------------------------- sections


def _verdict_cell(verdict: Any) -> str:
    cls, _, sym = verdict_style(str(verdict))
    return f'<td class="verdict {cls}">{_e(sym)} {_e(verdict)}</td>'


def _effects_section(effects) -> str:
    if effects is None:
        return '<p class="note">No effects table (<code>effects.parquet</code> is absent).</p>'
    if not len(effects):
        return '<p class="note">The effects table has no rows.</p>'
    parts = []
    counts = effects["verdict"].astype(str).value_counts() if "verdict" in effects.columns else {}
    chips = []
    for verdict, n in counts.items():
        cls, _, sym = verdict_style(verdict)
        chips.append(f'<span class="chip {cls}">{_e(sym)} {_e(verdict)}: {int(n)}</span>')
    parts.append(f'<p class="verdict-counts">Verdicts: {"".join(chips)}</p>')
    head = [
        "experiment",
        "task",
        "family",
        "measure",
        "metric",
        "networks per level (converged / trained)",
        "effect (highest vs lowest level) [95% interval]",
        "adjusted p",
        "observed",
        "paper",
        "verdict",
        "reason",
    ]
    parts.append('<table id="effects-table" class="effects">')
    parts.append("<thead><tr>" + "".join(f"<th>{_e(h)}</th>" for h in head) + "</tr></thead><tbody>")
    for _, r in effects.iterrows():
        row = r.to_dict()
        experiment = _e(row.get("experiment"))
        factor = row.get("factor")
        if not _missing(factor) and str(factor) != str(row.get("experiment")):
            experiment += f" <small>({_e(factor)})</small>"
        correction = "" if _missing(row.get("correction")) else f' title="{_e(row.get("correction"))}"'
        cells = [
            f"<td>{experiment}</td>",
            f"<td>{_breakable(row.get('task'))}</td>",
            f"<td>{_e(row.get('family'))}</td>",
            f"<td>{_breakable(row.get('measure'))}</td>",
            f"<td>{_breakable(row.get('metric'))}</td>",
            f"<td>{_e(row.get('networks'))}</td>",
            f'<td class="num effect">{_effect_html(row)}</td>',
            f'<td class="num"{correction}>{_e(_num(row.get("p_adjusted")))}</td>',
            f"<td>{_e(row.get('observed'))}</td>",
            f"<td>{_e(row.get('paper'))}</td>",
            _verdict_cell(row.get("verdict", "")),
            f'<td class="reason">{_e(row.get("reason"))}</td>',
        ]
        parts.append("<tr>" + "".join(cells) + "</tr>")
    parts.append("</tbody></table>")
    return "\n".join(parts)


def _dsa_vs_null(row: Mapping[str, Any]) -> str:
    """Whether the between-network DSA's interval lies above the null's."""
    lo, null_hi = _float(row.get("dsa_lo")), _float(row.get("dsa_null_hi"))
    if not (math.isfinite(lo) and math.isfinite(null_hi)):
        return "\u2014"
    return "above" if lo > null_hi else "overlaps"


def _conditions_table(summary) -> str:
    head = [
        "task",
        "level",
        "condition",
        "converged / trained",
        "convergence rate [95% Wilson]",
        "excluded",
        "DSA between networks [95%]",
        "DSA null, within network [95%]",
        "DSA vs null",
        "note",
    ]
    out = ['<table class="conditions">']
    out.append("<thead><tr>" + "".join(f"<th>{_e(h)}</th>" for h in head) + "</tr></thead><tbody>")
    for _, r in summary.iterrows():
        row = r.to_dict()
        n_conv, n_seeds = row.get("n_converged"), row.get("n_seeds")
        conv = f"{_num(n_conv, 6)} / {_num(n_seeds, 6)}"
        rate = _num(row.get("convergence_rate")) + _interval(row.get("convergence_lo"), row.get("convergence_hi"))
        n_exc = _float(row.get("n_excluded"))
        if math.isfinite(n_exc) and n_exc > 0:
            excluded = (
                f"{int(n_exc)} ({_num(row.get('n_diverged'), 6)} diverged, "
                f"{_num(row.get('n_not_converged'), 6)} not converged)"
            )
        elif math.isfinite(n_exc):
            excluded = "0"
        else:
            excluded = "\u2014"
        dsa = _num(row.get("dsa_mean")) + _interval(row.get("dsa_lo"), row.get("dsa_hi"))
        null = _num(row.get("dsa_null_mean")) + _interval(row.get("dsa_null_lo"), row.get("dsa_null_hi"))
        sufficient = row.get("sufficient")
        cls = ' class="insufficient"' if not _missing(sufficient) and not bool(sufficient) else ""
        cells = [
            f"<td>{_e(row.get('task'))}</td>",
            f'<td class="num">{_e(_num(row.get("level"), 6))}</td>',
            f"<td><code>{_e(row.get('condition'))}</code></td>",
            f'<td class="num">{_e(conv)}</td>',
            f'<td class="num">{_e(rate)}</td>',
            f"<td>{_e(excluded)}</td>",
            f'<td class="num">{_e(dsa)}</td>',
            f'<td class="num">{_e(null)}</td>',
            f"<td>{_e(_dsa_vs_null(row))}</td>",
            f'<td class="reason">{_e(row.get("note"))}</td>',
        ]
        out.append(f"<tr{cls}>" + "".join(cells) + "</tr>")
    out.append("</tbody></table>")
    return "\n".join(out)


def _figure_html(name: str, png: bytes | None, caption: str, experiments: Sequence[str] | None, pdf: str | None) -> str:
    label = f"{name}" + (f" (experiments: {', '.join(experiments)})" if experiments else " (whole study)")
    if png is None:
        return (
            f'<figure id="fig-{_slug(name)}"><figcaption><b>{_e(label)}</b>: '
            f"not drawn (<code>figures/{_e(name)}.png</code> is absent).</figcaption></figure>"
        )
    data = base64.b64encode(png).decode("ascii")
    pdf_link = f' <a href="{_e(pdf)}">PDF</a>' if pdf else ""
    return (
        f'<figure id="fig-{_slug(name)}"><img alt="{_e(name)}" src="data:image/png;base64,{data}">'
        f"<figcaption><b>{_e(label)}</b>{(': ' + _e(caption)) if caption else ''}{pdf_link}</figcaption></figure>"
    )


def render_page(
    title: str,
    effects=None,
    summaries: Mapping[str, Any] | None = None,
    figures: Mapping[str, Sequence[str] | None] | None = None,
    images: Mapping[str, bytes] | None = None,
    captions: Mapping[str, str] | None = None,
    links: Sequence[tuple[str, str]] = (),
    pdfs: Mapping[str, str] | None = None,
    generated: str | None = None,
) -> str:
    """The page as one HTML string.

    ``effects``: the effects table (or None); ``summaries``: {experiment: summary table};
    ``figures``: {figure name: its experiments, or None for a whole-study figure} in the order to
    show; ``images``: {figure name: PNG bytes} (a figure without bytes is named as not drawn);
    ``captions``: {figure name: caption}; ``links``: [(relative path, description)] of the
    tables; ``pdfs``: {figure name: relative path of its PDF}."""
    summaries = dict(summaries or {})
    figures = dict(figures or {})
    images = dict(images or {})
    captions = dict(captions or {})
    pdfs = dict(pdfs or {})

    colours, _ = _verdicts()
    css = _STYLE + "".join(f".v-{_slug(v)} {{ background: {_tint(c)}; }}\n" for v, c in colours.items())
    css += f".v-other {{ background: {_tint(_OTHER_COLOUR)}; }}\n"

    experiments = list(summaries)
    for fig_exps in figures.values():
        for e in fig_exps or ():
            if e not in experiments:
                experiments.append(e)
    # each figure embedded once: whole-study figures in their own section, the others under their
    # first experiment that the page has (linked from the rest of their experiments)
    home: dict[str, str | None] = {}
    for name, fig_exps in figures.items():
        present = [e for e in (fig_exps or ()) if e in experiments]
        home[name] = present[0] if present else None

    def fig(name: str) -> str:
        return _figure_html(name, images.get(name), captions.get(name, ""), figures.get(name), pdfs.get(name))

    body = [f"<h1>{_e(title)}</h1>"]
    if generated:
        body.append(f'<p class="meta">Written {_e(generated)} from the study folder; the tables are linked below.</p>')
    nav = ['<a href="#effects">effects table</a>']
    nav += [f'<a href="#exp-{_slug(e)}">{_e(e)}</a>' for e in experiments]
    if any(h is None for h in home.values()):
        nav.append('<a href="#study-figures">study-wide figures</a>')
    nav.append('<a href="#tables">tables</a>')
    body.append("<nav>" + "".join(nav) + "</nav>")

    body.append('<h2 id="effects">Effects table</h2>')
    body.append(
        '<p class="note">One row per cell (experiment, task, measure, metric). Effect: degeneracy at '
        "the highest level over the lowest (ratio) or their difference (kernel alignment), with the "
        "paired 95% bootstrap interval over seeds; adjusted p: within the cell's family (hover for "
        "the correction). Definitions: docs/study.md, columns: docs/outputs.md.</p>"
    )
    body.append(_effects_section(effects))

    study_wide = [n for n, h in home.items() if h is None]
    if study_wide:
        body.append('<h2 id="study-figures">Study-wide figures</h2>')
        body += [fig(n) for n in study_wide]

    for e in experiments:
        body.append(f'<h2 id="exp-{_slug(e)}">Experiment {_e(e)}</h2>')
        summary = summaries.get(e)
        if summary is not None and len(summary):
            factor = summary["factor"].iloc[0] if "factor" in summary.columns else None
            if not _missing(factor):
                body.append(
                    f'<p class="meta">Factor: {_e(factor)}; <a href="summary/{_e(e)}.parquet">summary/{_e(e)}.parquet</a></p>'
                )
            body.append("<h3>Convergence and the DSA null, per condition</h3>")
            body.append(
                '<p class="note">Converged networks are those that count (held-out error below '
                "threshold, not diverged); only they enter the distances. DSA vs null: "
                "<i>above</i> when the between-network interval lies above the null's.</p>"
            )
            body.append(_conditions_table(summary))
        else:
            body.append(f'<p class="note">No summary table for {_e(e)} (<code>summary/{_e(e)}.parquet</code>).</p>')
        mine = [n for n, h in home.items() if h == e]
        elsewhere = [n for n, exps in figures.items() if e in (exps or ()) and home.get(n) not in (e, None)]
        if mine or elsewhere:
            body.append("<h3>Figures</h3>")
        body += [fig(n) for n in mine]
        if elsewhere:
            refs = ", ".join(f'<a href="#fig-{_slug(n)}">{_e(n)}</a>' for n in elsewhere)
            body.append(f'<p class="note">Also showing {_e(e)}: {refs}.</p>')

    body.append('<h2 id="tables">Tables</h2>')
    if links:
        body.append("<ul>" + "".join(f'<li><a href="{_e(p)}">{_e(p)}</a>: {_e(d)}</li>' for p, d in links) + "</ul>")
    else:
        body.append('<p class="note">No tables found.</p>')

    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(title)}</title>\n<style>{css}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )


# ---------------------------------------------------------------- from a study folder


def _default_figures() -> dict[str, list[str] | None]:
    from degeneracy.conditions import FIGURES

    return {k: (list(v) if v is not None else None) for k, v in FIGURES.items()}


def build_page(
    root: Path | str,
    figures: Mapping[str, Sequence[str] | None] | None = None,
    experiments: Sequence[str] | None = None,
    captions: Mapping[str, str] | None = None,
    title: str | None = None,
) -> str:
    """The page of the study folder ``root`` (``results/<study>``).

    ``figures``: {figure name: its experiments, None for whole-study} (default: the registry
    :data:`degeneracy.conditions.FIGURES`, keeping those whose PNG exists); ``experiments``: the
    experiments whose summaries to show (default: every ``summary/*.parquet``)."""
    from degeneracy.io import read_parquet

    root = Path(root)
    effects_path = root / "effects.parquet"
    effects = read_parquet(effects_path) if effects_path.is_file() else None
    if experiments is None:
        experiments = sorted(p.stem for p in (root / "summary").glob("*.parquet"))
    summaries = {}
    for e in experiments:
        p = root / "summary" / f"{e}.parquet"
        summaries[e] = read_parquet(p) if p.is_file() else None
    if figures is None:
        figures = {k: v for k, v in _default_figures().items() if (root / "figures" / f"{k}.png").is_file()}
        figures = {k: ([e for e in v if e in summaries] if v is not None else None) for k, v in figures.items()}
    images = {}
    pdfs = {}
    for name in figures:
        png = root / "figures" / f"{name}.png"
        if png.is_file():
            images[name] = png.read_bytes()
        if (root / "figures" / f"{name}.pdf").is_file():
            pdfs[name] = f"figures/{name}.pdf"
    links = [(p, d) for p, d in LINKED_TABLES if (root / p).is_file()]
    links += [
        (f"summary/{e}.parquet", f"one row per condition of {e}")
        for e in experiments
        if (root / "summary" / f"{e}.parquet").is_file()
    ]
    now = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return render_page(
        title or f"Degeneracy study {root.name}: results",
        effects=effects,
        summaries=summaries,
        figures=figures,
        images=images,
        captions=captions,
        links=links,
        pdfs=pdfs,
        generated=now,
    )


def write_page(root: Path | str, out: Path | str | None = None, **kwargs) -> Path:
    """Build the page of ``root`` (see :func:`build_page`) and write it atomically to ``out``
    (default ``root/results.html``); returns the path."""
    from degeneracy.io import atomic_write_text

    out = Path(out) if out is not None else Path(root) / PAGE_NAME
    return atomic_write_text(build_page(root, **kwargs), out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m degeneracy.results_page",
        description="Write the results page (one self-contained HTML file) of a study folder.",
    )
    parser.add_argument("root", help="the study folder, results/<study>")
    parser.add_argument("--out", default=None, help=f"output file (default: <root>/{PAGE_NAME})")
    args = parser.parse_args(argv)
    root = Path(args.root)
    if not root.is_dir():
        parser.error(f"{root} is not a folder")
    captions = captions_from_rst(Path(__file__).resolve().parents[2] / "report" / "figure.rst")
    print(write_page(root, args.out, captions=captions))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
