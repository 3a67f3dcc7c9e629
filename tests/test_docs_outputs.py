"""docs/outputs.md cannot drift from the code: every column table on the page equals (names, order
and dtype) the schema the writing code declares or produces, every file a rule writes is on the
page, every log and benchmark path matches its rule, and every link into another page resolves.

No workflow run: schemas come from the declared column constants, from the library's own
functions on empty inputs, and from a hand-made checkpoint (no training) run through the extraction
functions; dtypes are those pandas reads back from Parquet.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
PAGE = REPO / "docs" / "outputs.md"
HEADER = "| column | dtype | meaning |"


# ---------------------------------------------------------------- the page


def column_tables(text: str) -> dict[str, list[tuple[str, str]]]:
    """{Parquet path named in a heading: [(column, dtype)]} for every heading followed by a column
    table.

    A heading names one or more paths in backticks; all of them get the first table under it whose
    header is ``| column | dtype | meaning |`` (before the next heading)."""
    out: dict[str, list[tuple[str, str]]] = {}
    paths: list[str] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("#"):
            paths = [p for p in re.findall(r"`([^`]+)`", line) if p.endswith(".parquet")]
        elif line.strip() == HEADER and paths:
            rows = []
            i += 2  # skip the |---| line
            while i < len(lines) and lines[i].startswith("|"):
                cells = [c.strip() for c in lines[i].strip().strip("|").split("|")]
                rows.append((cells[0], cells[1]))
                i += 1
            for p in paths:
                assert p not in out, f"{p} has two column tables"
                out[p] = rows
            paths = []
            continue
        i += 1
    return out


def schema_mismatch(documented: list[tuple[str, str]], actual: dict[str, str]) -> str:
    """'' when the documented (column, dtype) list equals ``actual`` in order, else what differs."""
    got = list(actual.items())
    if documented == got:
        return ""
    doc_names, names = [c for c, _ in documented], [c for c, _ in got]
    parts = []
    if set(doc_names) - set(names):
        parts.append(f"documented but not written: {sorted(set(doc_names) - set(names))}")
    if set(names) - set(doc_names):
        parts.append(f"written but not documented: {sorted(set(names) - set(doc_names))}")
    wrong = [(c, d, actual[c]) for c, d in documented if c in actual and actual[c] != d]
    if wrong:
        parts.append("dtype documented / written: " + ", ".join(f"{c} {d} / {a}" for c, d, a in wrong))
    if not parts:
        parts.append(f"column order differs: documented {doc_names}, written {names}")
    return "; ".join(parts)


def github_slug(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading."""
    s = heading.strip().lstrip("#").strip().lower()
    s = re.sub(r"[^\w\- ]", "", s)
    return s.replace(" ", "-")


# ---------------------------------------------------------------- what the code writes


def _roundtrip(df: pd.DataFrame, tmp_path: Path, name: str) -> dict[str, str]:
    """Column -> dtype as pandas reads ``df`` back from Parquet."""
    from degeneracy.io import atomic_write_parquet, read_parquet

    path = tmp_path / f"{name}.parquet"
    atomic_write_parquet(df, path)
    return {c: str(t) for c, t in read_parquet(path).dtypes.items()}


def _declared(schema: dict[str, str], tmp_path: Path, name: str) -> dict[str, str]:
    frame = pd.DataFrame({c: pd.Series(dtype=t) for c, t in schema.items()})
    return _roundtrip(frame, tmp_path, name)


TASK = {"name": "delayed_discrimination", "n_channels": 1, "delay_min": 2, "delay_max": 4, "auxiliary": True}
PROBE = {"n_trials": 3, "seed": 1000}


def _checkpoint(tmp_path: Path, n_units: int = 5) -> Path:
    """A checkpoint built by hand (no training): a muP network whose 'trained' J differs from its
    initial one."""
    from degeneracy.config import resolve_config
    from degeneracy.models import build_model
    from degeneracy.tasks import make_task

    cfg = resolve_config({"task": dict(TASK), "model": {"kind": "mup", "n_units": n_units}})
    task = make_task(TASK["name"], **{k: v for k, v in TASK.items() if k != "name"})
    model = build_model(cfg["model"], task.n_inputs, task.n_outputs, 0)
    init = {k: v.detach().clone() for k, v in model.state_dict().items()}
    final = {k: v.detach().clone() for k, v in init.items()}
    final["J"] = final["J"] + 0.1 * torch.ones_like(final["J"])
    ckpt = {
        "config": cfg,
        "seed": 7,
        "status": "converged",
        "init_state": init,
        "final_state": final,
        "n_inputs": task.n_inputs,
        "n_outputs": task.n_outputs,
        "epochs": 2,
        "steps": 4,
        "final_loss": 0.5,
        "threshold": cfg["training"]["threshold"],
        "versions": {},
    }
    path = tmp_path / "seed7.pt"
    torch.save(ckpt, path)
    return path


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> dict[str, dict[str, str]]:
    """{documented path: {column: dtype}} of everything the page has a table for."""
    import degeneracy.training as training
    from degeneracy.aggregate import summarise
    from degeneracy.measure.core import DISTANCE_COLUMNS
    from degeneracy.metrics import fixed_points
    from degeneracy.pipeline import collect, dsa_fit, dsa_grid, extract, joint_dsa, pairwise, pairwise_svcca
    from degeneracy.stats import EFFECT_COLUMNS, effects_table

    tmp = tmp_path_factory.mktemp("schemas")
    ckpt = _checkpoint(tmp)
    extract.trajectories(
        ckpt,
        "c0",
        7,
        PROBE,
        {"n_trials": 4, "seed": 2000},
        {"n_trials": 2, "max_outputs": 8},
        out_network=tmp / "network.parquet",
        out_trajectories=tmp / "trajectories.parquet",
        out_weights=tmp / "weights.parquet",
        evaluation={"n_trials": 4, "seed": 3000},
        out_trajectories_probe2=tmp / "trajectories_probe2.parquet",
    )
    extract.example_trial(ckpt, "c0", PROBE, tmp / "example_trial.parquet")
    read = {
        n: {c: str(t) for c, t in pd.read_parquet(tmp / f"{n}.parquet").dtypes.items()}
        for n in ("network", "trajectories", "trajectories_probe2", "weights", "example_trial")
    }
    assert read["network"] == dict(extract.NETWORK_COLUMNS)
    assert read["weights"] == dict(extract.WEIGHT_COLUMNS)

    # the training log: the names the training loop writes, the dtypes the collector casts to
    log = {c: t for c, t in collect.LOG_COLUMNS.items() if c not in ("condition", "seed")}
    assert tuple(log) == tuple(training.LOG_COLUMNS)
    meta = pd.DataFrame(columns=list(collect.META_COLUMNS))
    empty_summary = summarise(meta, None, None)
    empty_effects = effects_table(meta, None, None)
    assert list(empty_effects.columns) == list(EFFECT_COLUMNS)
    fp = {"condition": "string", "seed": "int64", **fixed_points.SUMMARY_COLUMNS}
    pair = _declared(pairwise.PAIRWISE_COLUMNS, tmp, "pairwise")
    net = _roundtrip(pd.read_parquet(tmp / "network.parquet"), tmp, "network_rt")
    return {
        "train/{condition}/seed{seed}.log.parquet": _declared(log, tmp, "log"),
        "extract/{condition}/seed{seed}/network.parquet": net,
        "networks.parquet": _declared(extract.NETWORK_COLUMNS, tmp, "networks"),
        "extract/{condition}/seed{seed}/trajectories.parquet": read["trajectories"],
        "extract/{condition}/seed{seed}/trajectories_probe2.parquet": read["trajectories_probe2"],
        "extract/{condition}/seed{seed}/weights.parquet": read["weights"],
        "extract/{condition}/seed{seed}/example_trial.parquet": read["example_trial"],
        "extract/{condition}/seed{seed}/fixed_points.parquet": _declared(fp, tmp, "fixed_points"),
        "dsa/{condition}/operators.parquet": _declared(dsa_fit.OPERATOR_COLUMNS, tmp, "operators"),
        "dsa/{condition}/null.parquet": _declared(dsa_fit.NULL_COLUMNS, tmp, "null"),
        "pairwise/{condition}/dsa.parquet": pair,
        "pairwise/{condition}/weights.parquet": pair,
        "pairwise/{condition}/svcca.parquet": pair,
        "pairwise.parquet": pair,
        "pairwise/{condition}/dsa_grid.parquet": _declared(dsa_grid.GRID_COLUMNS, tmp, "dsa_grid"),
        "dsa_grid/{condition}/{block}.parquet": _declared(dsa_grid.FIT_COLUMNS, tmp, "dsa_grid_fit"),
        "svcca/{condition}/spectrum.parquet": _declared(pairwise_svcca.SPECTRUM_COLUMNS, tmp, "svcca_spectrum"),
        "joint/{experiment}/{task}.parquet": _declared(joint_dsa.JOINT_COLUMNS, tmp, "joint"),
        "joint/{experiment}/{task}.spread.parquet": _declared(joint_dsa.SPREAD_COLUMNS, tmp, "spread"),
        "meta.parquet": _declared(collect.META_COLUMNS, tmp, "meta"),
        "summary/{experiment}.parquet": _roundtrip(empty_summary, tmp, "summary"),
        "effects.parquet": _roundtrip(empty_effects, tmp, "effects"),
        "results/external/{name}/distances.parquet": _declared(DISTANCE_COLUMNS, tmp, "distances"),
    }


def _expand_units(rows: list[tuple[str, str]], actual: dict[str, str]) -> list[tuple[str, str]]:
    """Replace the documented ``h{k}`` row by h0 .. h{n-1} (n = the units in ``actual``)."""
    out = []
    for c, t in rows:
        if c == "h{k}":
            out += [(u, t) for u in actual if re.fullmatch(r"h\d+", u)]
        else:
            out.append((c, t))
    return out


# ---------------------------------------------------------------- the checks


def test_every_column_table_matches_what_the_code_writes(written):
    tables = column_tables(PAGE.read_text())
    assert set(tables) == set(written), (
        f"tables without a check: {sorted(set(tables) - set(written))}; "
        f"checked files without a table: {sorted(set(written) - set(tables))}"
    )
    bad = []
    for path, rows in tables.items():
        why = schema_mismatch(_expand_units(rows, written[path]), written[path])
        if why:
            bad.append(f"{path}: {why}")
    assert not bad, "docs/outputs.md differs from the code:\n" + "\n".join(bad)


def test_trajectory_columns_are_one_per_unit(written):
    cols = list(written["extract/{condition}/seed{seed}/trajectories.parquet"])
    assert cols == ["trial", "time", "h0", "h1", "h2", "h3", "h4"]  # the hand-made network has 5 units


def test_schema_check_can_fail():
    documented = [("a", "int64"), ("b", "string")]
    assert schema_mismatch(documented, {"a": "int64", "b": "string"}) == ""
    assert "written but not documented: ['c']" in schema_mismatch(
        documented, {"a": "int64", "b": "string", "c": "bool"}
    )
    assert "documented but not written: ['b']" in schema_mismatch(documented, {"a": "int64"})
    assert "b string / str" in schema_mismatch(documented, {"a": "int64", "b": "str"})
    assert "order" in schema_mismatch(documented, {"b": "string", "a": "int64"})
    page = (
        "## `x.parquet`, `x.md` and `y.parquet`\n\ntext\n\n" + HEADER + "\n|---|---|---|\n| a | int64 | m |\n\n## z\n"
    )
    assert column_tables(page) == {"x.parquet": [("a", "int64")], "y.parquet": [("a", "int64")]}


# ---- rule outputs, logs and benchmarks, read from rules/*.smk


def _constants() -> dict[str, str]:
    text = (REPO / "rules" / "common.smk").read_text()
    return dict(re.findall(r'^([A-Z_]+) = f"(\{OUT\}/[^"]+)"', text, flags=re.M))


def _normalise(path: str) -> str:
    path = path.replace("{{", "{").replace("}}", "}")
    for old, new in (
        ("{_cid}", "{condition}"),
        ("{_block}", "{block}"),
        ("{external}", "{name}"),
        ("{e}", "{experiment}"),
    ):
        path = path.replace(old, new)
    return path.removeprefix("{OUT}/")


def rule_files() -> dict[str, dict[str, list[str]]]:
    """{rule: {"output" | "log" | "benchmark": [path patterns]}} from rules/*.smk (paths relative
    to the study folder; external ones start with results/external/)."""
    from degeneracy.measure.workflow import OUTPUTS

    consts = _constants()
    rules: dict[str, dict[str, list[str]]] = {}
    for smk in sorted((REPO / "rules").glob("*.smk")):
        lines = smk.read_text().splitlines()
        for i, line in enumerate(lines):
            m = re.match(r"^(\s*)rule(?:\s+(\w+))?:\s*$", line)
            if not m:
                continue
            indent = len(m.group(1))
            body = []
            for nxt in lines[i + 1 :]:
                if nxt.strip() and len(nxt) - len(nxt.lstrip()) <= indent:
                    break
                body.append(nxt)
            name = m.group(2)
            if name is None:  # rule: name: f"train_ensemble_{...}"
                found = re.search(r'name:\s*\n\s*f?"([^"{]+)\{', "\n".join(body))
                name = found.group(1) + "<k>"
            sections: dict[str, list[str]] = {}
            current = None
            step = min(len(b) - len(b.lstrip()) for b in body if b.strip())
            for b in body:
                d = re.match(rf"^\s{{{step}}}(\w+):(.*)$", b)
                if d:
                    current = d.group(1)
                    b = d.group(2)
                if current in ("output", "log", "benchmark"):
                    sections.setdefault(current, []).append(b)
            files: dict[str, list[str]] = {}
            for key, chunk in sections.items():
                text = "\n".join(chunk)
                found = [
                    s
                    for s in re.findall(r'f?"([^"]*)"', text)
                    if s.startswith(("{OUT}/", "{EXTERNAL_OUT}", "results/"))
                ]
                found += [consts[c] for c in re.findall(r"\b[A-Z][A-Z_]+\b", text) if c in consts]
                paths = []
                for s in found:
                    if s == "{EXTERNAL_OUT}/{f}":
                        paths += [f"results/external/{{name}}/{f}" for f in OUTPUTS]
                    else:
                        paths.append(_normalise(s))
                files[key] = sorted(set(paths))
            rules[name] = files
    return rules


def _section(text: str, start: str) -> str:
    i = text.index(start)
    j = text.find("\n## ", i + 1)
    return text[i:] if j < 0 else text[i:j]


def test_rules_are_read_from_the_rule_files():
    """The reader finds the rules and their files (so the checks below are not vacuous)."""
    rules = rule_files()
    assert {
        "train",
        "train_ensemble_<k>",
        "extract",
        "dsa_fit",
        "pairwise_dsa",
        "summary",
        "figure",
        "measure_external",
    } <= set(rules)
    assert rules["train"]["output"] == ["train/{condition}/seed{seed}.log.parquet", "train/{condition}/seed{seed}.pt"]
    assert rules["train_ensemble_<k>"]["log"] == ["logs/train/{condition}/block{block}.log"]
    assert rules["effects"]["output"] == ["effects.md", "effects.parquet"]
    assert rules["dsa_grid"]["benchmark"] == ["benchmarks/dsa_grid/{condition}.tsv"]
    assert "results/external/{name}/report.md" in rules["measure_external"]["output"]


def test_every_file_a_rule_writes_is_on_the_page():
    text = PAGE.read_text()
    external = _section(text, "## Your own networks")
    missing = []
    for rule, files in rule_files().items():
        for path in files.get("output", []):
            if path.startswith("results/external/"):
                ok = f"`{path.rsplit('/', 1)[1]}`" in external
            else:
                ok = f"`{path}`" in text
            if not ok:
                missing.append(f"{rule}: {path}")
    assert not missing, "files written by a rule but not on docs/outputs.md:\n" + "\n".join(missing)


def test_log_and_benchmark_table_matches_the_rules():
    text = PAGE.read_text()
    table = {}
    for line in _section(text, "## Logs and benchmarks").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[1].startswith("`") and cells[0] != "rule":
            table[cells[0].replace("&lt;", "<").replace("&gt;", ">")] = (
                "logs/" + cells[1].strip("`"),
                "benchmarks/" + cells[2].strip("`"),
            )
    expected = {}
    for rule, files in rule_files().items():
        if rule == "measure_external":  # outside the study folder: named in its own section
            for path in files["log"] + files["benchmark"]:
                assert f"`{path}`" in _section(text, "## Your own networks"), path
            continue
        if files.get("log"):
            expected[rule] = (files["log"][0], files["benchmark"][0])
    assert table == expected


def test_links_into_other_pages_resolve():
    bad = []
    for target, anchor in re.findall(r"\]\(([\w.]+\.md)#([^)]+)\)", PAGE.read_text()):
        headings = [line for line in (PAGE.parent / target).read_text().splitlines() if line.startswith("#")]
        if anchor not in {github_slug(h) for h in headings}:
            bad.append(f"{target}#{anchor}")
    assert not bad, "links to missing headings: " + ", ".join(bad)
    assert github_slug("## Feature learning (`feature_learning.py`)") == "feature-learning-feature_learningpy"
