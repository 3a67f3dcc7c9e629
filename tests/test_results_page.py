"""The results page (degeneracy.results_page, rule results_page, target `report`).

Two parts:

- the HTML builder, no browser: escaping, verdict colours, the effect text on both scales, the
  embedded figures, convergence and the DSA null per condition, links, no external resource;
- the page in a real headless browser (Debian's Chromium): built from a small synthetic results
  folder (synthetic_study -> effects_table and summarise, a tiny PNG), it loads with no console
  message, its DOM holds the effects table with verdict cells, and its screenshot is not blank;
  the same blank-page check fails on an empty page, and the console check catches a planted
  script error (so neither check is vacuous).

Chromium is required: without it the browser test fails and says how to install it (.ci/run
installs it).
"""

from __future__ import annotations

import base64
import math
import re
import runpy
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from degeneracy.results_page import (
    PAGE_NAME,
    build_page,
    captions_from_rst,
    effect_text,
    render_page,
    verdict_style,
    write_page,
)

REPO = Path(__file__).resolve().parents[1]
HOSTILE = '<script>planted_function()</script> & "quoted" <b>bold</b>'
INSTALL = "apt-get update && apt-get install -y chromium"


# ---------------------------------------------------------------- a synthetic study folder


def _tiny_png(path: Path, seed: int = 0) -> bytes:
    import matplotlib.image

    rng = np.random.default_rng(seed)
    img = np.linspace(0, 1, 40 * 60 * 3).reshape(40, 60, 3) * 0.5 + 0.5 * rng.random((40, 60, 3))
    path.parent.mkdir(parents=True, exist_ok=True)
    matplotlib.image.imsave(path, img)
    return path.read_bytes()


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> Path:
    """results/<study>/ with effects.parquet, two summaries, three figures (one experiment-free)
    and the study tables; one effects reason and one summary note carry markup."""
    from degeneracy.aggregate import summarise
    from degeneracy.io import atomic_write_parquet
    from degeneracy.stats import effects_table
    from degeneracy.stats.synthetic import synthetic_study

    root = tmp_path_factory.mktemp("results") / "synthetic"
    exps = (("complexity", "channels", "flipflop"), ("gamma", "gamma", "flipflop"))
    meta, nets, pairs = synthetic_study(
        np.random.default_rng(0), n_seeds=5, experiments=exps, extras=True, effects={"dynamics": 4.0}
    )
    effects = effects_table(meta, nets, pairs, n_boot=50)
    effects["reason"] = effects["reason"].astype(object)
    effects.loc[0, "reason"] = HOSTILE
    atomic_write_parquet(effects, root / "effects.parquet")
    for e in ("complexity", "gamma"):
        s = summarise(meta[meta["experiment"] == e], nets, pairs, n_boot=50)
        s.loc[0, "note"] = HOSTILE
        atomic_write_parquet(s, root / "summary" / f"{e}.parquet")
    atomic_write_parquet(meta, root / "meta.parquet")
    atomic_write_parquet(nets, root / "networks.parquet")
    atomic_write_parquet(pairs, root / "pairwise.parquet")
    for i, name in enumerate(("fig3", "fig6", "effects")):
        _tiny_png(root / "figures" / f"{name}.png", seed=i)
    (root / "figures" / "fig3.pdf").write_bytes(b"%PDF-1.4\n")
    return root


FIGURES = {"fig3": ["complexity"], "fig6": ["gamma"], "svcca": ["complexity", "gamma"], "effects": None}


@pytest.fixture(scope="module")
def page(study) -> str:
    return build_page(study, figures=FIGURES, captions={"fig3": "Task complexity & <MDS>"})


# ---------------------------------------------------------------- the builder (no browser)


def test_effect_text_on_both_scales():
    assert effect_text({"effect_scale": "log ratio", "ratio": 2.5, "ratio_lo": 1.25, "ratio_hi": 4.0}) == (
        "ratio 2.5 [1.25, 4]"
    )
    row = {
        "effect_scale": "difference",
        "difference": -0.0573,
        "difference_lo": -0.12,
        "difference_hi": 0.01,
        "ratio": 0.9,
        "ratio_lo": 0.8,
        "ratio_hi": 1.1,
    }
    assert effect_text(row) == "difference -0.0573 [-0.12, +0.01]"
    assert effect_text({"effect_scale": "log ratio", "ratio": math.nan}) == "ratio \u2014"
    assert effect_text({"effect_scale": "log ratio", "ratio": 1.5, "ratio_lo": pd.NA, "ratio_hi": 2}) == "ratio 1.5"
    assert effect_text({"effect_scale": "difference", "difference": None}) == "difference \u2014"


def test_the_page_shows_the_effects_table_with_both_effect_scales(study, page):
    effects = pd.read_parquet(study / "effects.parquet")
    table = page[page.index('id="effects-table"') :]
    table = table[: table.index("</table>")]
    assert table.count("<tr>") == len(effects) + 1  # header + one row per cell
    for _, r in effects.iterrows():
        value = effect_text(r.to_dict()).partition(" [")[0]
        assert value in table
    assert (effects["effect_scale"] == "difference").any()
    assert "difference +" in table or "difference -" in table
    for column in ("adjusted p", "observed", "paper", "verdict", "reason", "networks per level"):
        assert column in table
    assert effects["networks"].iloc[0] in table


def test_every_string_is_escaped(page):
    assert "planted_function" in page
    assert "<script" not in page.lower()
    assert "<b>bold</b>" not in page
    assert html_escaped(HOSTILE) in page
    assert "Task complexity &amp; &lt;MDS&gt;" in page  # captions too


def html_escaped(text: str) -> str:
    import html

    return html.escape(text, quote=True)


def test_verdicts_are_coloured_as_in_the_effects_figure(page):
    from degeneracy.figures.effects import VERDICT_COLOURS
    from degeneracy.stats.effects import VERDICTS

    for verdict in VERDICTS:
        cls, background, symbol = verdict_style(verdict)
        assert background != verdict_style("an unknown verdict")[1], verdict
        assert f".{cls} {{ background: {background}; }}" in page
    assert verdict_style("agree")[1] == "#9dd39b"  # #4daf4a at alpha 0.55 on white
    assert set(VERDICT_COLOURS) == set(VERDICTS)
    cells = re.findall(r'<td class="verdict (v-[\w-]+)">([^<]*)</td>', page)
    assert cells and all(cls == verdict_style(text.split(" ", 1)[1])[0] for cls, text in cells)
    assert verdict_style("<x>")[0] == "v-other"


def test_convergence_and_the_dsa_null_per_condition(study, page):
    s = pd.read_parquet(study / "summary" / "complexity.parquet")
    section = page[page.index('id="exp-complexity"') : page.index('id="exp-gamma"')]
    for _, r in s.iterrows():
        row = section[section.index(r["condition"]) :]
        row = row[: row.index("</tr>")]
        assert f"{r['n_converged']} / {r['n_seeds']}" in row
        assert f"{r['dsa_mean']:.3g} [{r['dsa_lo']:.3g}, {r['dsa_hi']:.3g}]" in row
        assert f"{r['dsa_null_mean']:.3g} [{r['dsa_null_lo']:.3g}, {r['dsa_null_hi']:.3g}]" in row
        assert f"{r['convergence_rate']:.3g} [{r['convergence_lo']:.3g}, {r['convergence_hi']:.3g}]" in row
        assert ("above" if r["dsa_lo"] > r["dsa_null_hi"] else "overlaps") in row


def test_figures_are_embedded_once_and_linked(study, page):
    uris = re.findall(r'<img alt="([\w-]+)" src="data:image/png;base64,([A-Za-z0-9+/=]+)">', page)
    assert sorted(n for n, _ in uris) == ["effects", "fig3", "fig6"]
    for name, data in uris:
        assert base64.b64decode(data) == (study / "figures" / f"{name}.png").read_bytes()
    # fig6 in gamma's section, the study-wide effects figure in its own; svcca (no PNG) named
    gamma = page[page.index('id="exp-gamma"') : page.index('id="tables"')]
    assert 'id="fig-fig6"' in gamma
    assert page.index('id="study-figures"') < page.index('id="fig-effects"') < page.index('id="exp-complexity"')
    assert "not drawn" in page[page.index('id="fig-svcca"') :]
    assert '<a href="#fig-svcca">svcca</a>' in gamma  # shown under complexity, linked from gamma
    assert '<a href="figures/fig3.pdf">PDF</a>' in page


def test_links_are_relative_and_resolve(study, page):
    hrefs = re.findall(r'href="([^"#][^"]*)"', page)
    assert {"effects.parquet", "meta.parquet", "networks.parquet", "pairwise.parquet"} <= set(hrefs)
    assert "summary/complexity.parquet" in hrefs
    for h in hrefs:
        assert (study / h).is_file(), h


def test_no_external_resources(page):
    assert not re.search(r'(?:src|href)\s*=\s*"(?:https?:)?//', page)
    assert "<script" not in page.lower() and "<link" not in page.lower()
    assert "Content-Security-Policy" in page and "default-src 'none'" in page


def test_an_empty_study_folder_gives_a_page(tmp_path):
    text = build_page(tmp_path)
    assert "No effects table" in text and "No tables found" in text
    assert render_page("t", effects=pd.DataFrame(columns=["verdict"])).count("no rows") == 1


def test_captions_come_from_the_report_captions():
    from degeneracy.conditions import FIGURE_NAMES

    captions = captions_from_rst(REPO / "report" / "figure.rst")
    assert set(captions) == set(FIGURE_NAMES)
    assert all(len(c) > 20 for c in captions.values())


def test_the_rule_script_writes_the_page(study, tmp_path):
    """rules/scripts/results_page.py with the arguments the rule passes (the page in its study
    folder, whose files it links)."""
    out = study / PAGE_NAME
    fake = SimpleNamespace(
        scriptdir=str(REPO / "rules" / "scripts"),
        threads=1,
        rule="results_page",
        wildcards={},
        log=[str(tmp_path / "log.txt")],
        output=SimpleNamespace(html=str(out)),
        params=SimpleNamespace(
            figures=FIGURES,
            experiments=["complexity", "gamma"],
            captions={},
            title="Degeneracy study synthetic: results",
        ),
    )
    runpy.run_path(str(REPO / "rules" / "scripts" / "results_page.py"), init_globals={"snakemake": fake})
    try:
        assert out.read_text().count('<td class="verdict ') == len(pd.read_parquet(study / "effects.parquet"))
        assert "done in" in (tmp_path / "log.txt").read_text()
    finally:
        out.unlink(missing_ok=True)


def test_report_target_runs_the_results_page_rule():
    """`snakemake report` plans results_page (and the study behind it); --report is untouched."""
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "report",
            "-n",
            "--nolock",
            "--quiet",
            "rules",
            "--configfile",
            str(REPO / "configs" / "test.yaml"),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert re.search(r"^results_page\s+1$", proc.stdout, re.M), proc.stdout
    assert re.search(r"^report\s+1$", proc.stdout, re.M), proc.stdout


# ---------------------------------------------------------------- in a real browser


def chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    pytest.fail(
        "Chromium is not installed, and the results-page browser test needs it. "
        f"Install it (Debian, as root): {INSTALL}   (.ci/run does this before pytest)",
        pytrace=False,
    )


def _browser(html_file: Path, tmp: Path, *mode: str) -> subprocess.CompletedProcess:
    cmd = [
        chromium(),
        "--headless",
        "--disable-gpu",
        "--no-sandbox",
        "--no-first-run",
        "--disable-dev-shm-usage",
        "--hide-scrollbars",
        f"--user-data-dir={tmp / 'chromium-profile'}",
        "--enable-logging=stderr",
        "--v=0",
        "--window-size=1280,2000",
        *mode,
        html_file.resolve().as_uri(),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, f"chromium failed ({proc.returncode}):\n{proc.stderr[-3000:]}"
    return proc


def console_messages(stderr: str) -> list[str]:
    """What the page wrote to the browser console (errors, refused resources, uncaught
    exceptions): Chromium logs each as a CONSOLE line with --enable-logging=stderr."""
    return [line for line in stderr.splitlines() if re.search(r":CONSOLE[:(\]]|Uncaught|Refused to", line)]


def render(html_file: Path, tmp: Path) -> tuple[str, list[str], np.ndarray]:
    """(DOM after load, console messages, screenshot as an array) of ``html_file``."""
    import matplotlib.image

    dom = _browser(html_file, tmp, "--dump-dom")
    shot = tmp / f"{html_file.stem}.png"
    snap = _browser(html_file, tmp, f"--screenshot={shot}")
    assert shot.is_file(), f"no screenshot written:\n{snap.stderr[-3000:]}"
    return dom.stdout, console_messages(dom.stderr) + console_messages(snap.stderr), matplotlib.image.imread(shot)


def shows_content(img: np.ndarray, top: int = 150, bottom: int = 1400) -> bool:
    """Not a blank page: the pixels vary, and the band where the effects table sits (rows
    ``top``..``bottom`` of a 2000-pixel-high window) has non-white pixels (>= 2 %)."""
    grey = img[..., :3].mean(axis=-1)
    band = grey[top:bottom]
    return bool(grey.var() > 1e-3 and (band < 0.9).mean() >= 0.02)


def test_the_page_in_a_headless_browser(study, tmp_path):
    html_file = write_page(study, tmp_path / PAGE_NAME, figures=FIGURES)
    dom, console, img = render(html_file, tmp_path)

    assert console == [], "console messages on the results page:\n" + "\n".join(console)
    n = len(pd.read_parquet(study / "effects.parquet"))
    table = re.search(r'<table id="effects-table".*?</table>', dom, re.S)
    assert table, "the effects table is not in the DOM"
    verdicts = re.findall(r'<td class="verdict v-[\w-]+">[^<]+</td>', table.group(0))
    assert len(verdicts) == n
    assert "disagree" in table.group(0)  # the planted dynamics effect against the paper's "down"
    assert "planted_function" in dom and "<script" not in dom  # the planted markup stayed text
    assert img.shape[:2] == (2000, 1280)
    assert shows_content(img), "the screenshot of the results page looks blank"

    # the blank-page check fails on an empty page
    empty = tmp_path / "empty.html"
    empty.write_text("<!DOCTYPE html><html><head><title>empty</title></head><body></body></html>")
    _, empty_console, empty_img = render(empty, tmp_path)
    assert empty_console == []
    assert not shows_content(empty_img), "the blank-page check passed an empty page"


def test_the_console_check_catches_a_script_error(tmp_path):
    broken = tmp_path / "broken.html"
    broken.write_text("<!DOCTYPE html><html><body><p>x</p><script>undefined_function_here()</script></body></html>")
    dom = _browser(broken, tmp_path, "--dump-dom")
    messages = console_messages(dom.stderr)
    assert any("undefined_function_here" in m for m in messages), dom.stderr[-3000:]
