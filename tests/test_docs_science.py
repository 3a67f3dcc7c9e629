"""docs/science.md states every default of the science; these tests hold its tables to the code.

Each machine-checkable table in the page follows a ``<!-- table: NAME -->`` marker. The tests
parse the table and compare every row with the value the code uses (and every value the code
defines with a row), so neither the page nor the code can change alone.
"""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path
from typing import Any

import pytest

from degeneracy import conditions, config
from degeneracy.stats import effects
from degeneracy.tasks import TASKS, knob_specs, task_class

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "science.md"
#: Tasks the page documents: the built-in ones plus the Lorenz-96 extension (named by import path).
DOC_TASKS = {
    **{name: cls for name, cls in TASKS.items()},
    "lorenz96": task_class("degeneracy.tasks.lorenz96:Lorenz96"),
}


def _text() -> str:
    return DOC.read_text(encoding="utf-8")


def parse_cell(cell: str) -> Any:
    """A table cell's value: the text inside backticks (or the cell), read as an int, a float,
    ``null``/``true``/``false`` or else a string."""
    m = re.fullmatch(r"`([^`]*)`", cell.strip())
    raw = (m.group(1) if m else cell).strip()
    if raw == "null":
        return None
    if raw in ("true", "false"):
        return raw == "true"
    if re.fullmatch(r"[+-]?\d+", raw):
        return int(raw)
    try:
        return float(raw)
    except ValueError:
        return raw


def split_row(line: str) -> list[str]:
    """Cells of a Markdown table row (``\\|`` is a literal bar inside a cell)."""
    body = line.strip()
    assert body.startswith("|") and body.endswith("|"), f"not a table row: {line!r}"
    cells = re.split(r"(?<!\\)\|", body[1:-1])
    return [c.strip().replace("\\|", "|") for c in cells]


def table(name: str, text: str | None = None) -> list[dict[str, str]]:
    """Rows of the table after ``<!-- table: name -->`` as dicts header -> raw cell text."""
    text = _text() if text is None else text
    lines = text.splitlines()
    marker = f"<!-- table: {name} -->"
    starts = [i for i, line in enumerate(lines) if line.strip() == marker]
    assert len(starts) == 1, f"{marker} must appear exactly once in {DOC}, found {len(starts)}"
    i = starts[0] + 1
    header = split_row(lines[i])
    assert re.fullmatch(r"\|(\s*-+\s*\|)+", lines[i + 1].replace(" ", "")), f"no separator under {marker}"
    rows = []
    for line in lines[i + 2 :]:
        if not line.strip().startswith("|"):
            break
        cells = split_row(line)
        assert len(cells) == len(header), f"{marker}: row {line!r} has {len(cells)} cells, header {len(header)}"
        rows.append(dict(zip(header, cells)))
    assert rows, f"{marker}: empty table"
    return rows


def same(doc_value: Any, code_value: Any) -> bool:
    """Equal values of the same kind (a bool never equals a number; 1 and 1.0 are the same
    number, since the page writes floats without forcing a decimal point)."""
    if isinstance(doc_value, bool) or isinstance(code_value, bool):
        return type(doc_value) is type(code_value) and doc_value == code_value
    if isinstance(code_value, (int, float)) and isinstance(doc_value, (int, float)):
        return doc_value == code_value
    return doc_value == code_value


def name(cell: str) -> str:
    return str(parse_cell(cell))


# ----------------------------------------------------------------------------- the parser itself


def test_parser_reads_values_and_escaped_bars():
    text = "x\n<!-- table: t -->\n| a | b |\n|---|---|\n| `1e-3` | `null` |\n| `3` | \\|f\\| `x` |\n\nafter\n"
    rows = table("t", text)
    assert [parse_cell(r["a"]) for r in rows] == [0.001, 3]
    assert parse_cell(rows[0]["b"]) is None and rows[1]["b"] == "|f| `x`"
    assert parse_cell("`true`") is True and parse_cell("`zero`") == "zero"
    assert isinstance(parse_cell("`128`"), int) and parse_cell("`0.5`") == 0.5
    assert not same(True, 1) and not same(1, True) and same(1, 1.0) and not same("1", 1)


def test_parser_rejects_a_missing_or_doubled_marker():
    with pytest.raises(AssertionError):
        table("t", "no marker here\n")
    with pytest.raises(AssertionError):
        table(
            "t",
            "<!-- table: t -->\n| a |\n|---|\n| 1 |\n<!-- table: t -->\n| a |\n|---|\n| 1 |\n",
        )


# ----------------------------------------------------------------------------- config defaults


def _check_params(rows: list[dict[str, str]], prefix: str, params: dict[str, config.Param]) -> None:
    doc = {name(r["key"]): parse_cell(r["default"]) for r in rows if name(r["key"]).startswith(prefix)}
    keys = {k[len(prefix) :] for k in doc if "." not in k[len(prefix) :]}
    assert keys == set(params), f"{prefix}* keys in docs/science.md {sorted(keys)} != code {sorted(params)}"
    for key, param in params.items():
        assert same(doc[prefix + key], param.default), (
            f"docs/science.md says {prefix}{key} = {doc[prefix + key]!r}; the code's default is {param.default!r}"
        )


def test_model_table_matches_model_params():
    _check_params(table("model"), "model.", config.MODEL_PARAMS)


def test_training_table_matches_training_and_regulariser_params():
    rows = table("training")
    _check_params(rows, "training.", config.TRAINING_PARAMS)
    _check_params(rows, "training.regulariser.", config.REGULARISER_PARAMS)


def test_model_and_training_tables_resolve_to_what_resolve_config_fills():
    """The documented values, read back from the page, are the values a bare config resolves to
    (with the task's lr and threshold in place of null)."""
    resolved = config.resolve_config({"task": {"name": "sine"}})
    for row in table("model"):
        key = name(row["key"]).split(".", 1)[1]
        assert same(parse_cell(row["default"]), resolved["model"][key]), key
    task_row = {name(r["task"]): r for r in table("tasks")}["sine"]
    fallback = {
        "lr": parse_cell(task_row["default lr"]),
        "threshold": parse_cell(task_row["threshold"]),
    }
    for row in table("training"):
        path = name(row["key"]).split(".")[1:]
        node = resolved["training"]
        for part in path:
            node = node[part]
        doc = parse_cell(row["default"])
        assert same(fallback.get(path[0], doc) if doc is None else doc, node), ".".join(path)


# ----------------------------------------------------------------------------- tasks


def test_task_table_matches_thresholds_and_learning_rates():
    rows = {name(r["task"]): r for r in table("tasks")}
    assert set(rows) == set(DOC_TASKS)
    for task, cls in DOC_TASKS.items():
        assert same(parse_cell(rows[task]["threshold"]), cls.threshold), f"{task}: threshold"
        assert same(parse_cell(rows[task]["default lr"]), cls.default_lr), f"{task}: default lr"
        assert cls.ood_description, f"{task} declares no ood_description"


def test_task_table_complexity_knobs_are_real_knobs():
    for row in table("tasks"):
        cls = DOC_TASKS[name(row["task"])]
        for knob in re.findall(r"`([^`]+)`", row["complexity knob"]):
            assert knob in knob_specs(cls), f"{cls.name}: {knob} is not a knob"


def test_knob_table_lists_every_knob_with_its_default():
    rows = table("knobs")
    doc = {(name(r["task"]), name(r["knob"])): parse_cell(r["default"]) for r in rows}
    assert len(doc) == len(rows), "a (task, knob) row appears twice"
    code = {(t, k): spec["default"] for t, cls in DOC_TASKS.items() for k, spec in knob_specs(cls).items()}
    assert set(doc) == set(code), (
        f"missing in docs: {sorted(set(code) - set(doc))}; not in code: {sorted(set(doc) - set(code))}"
    )
    for key, value in code.items():
        assert same(doc[key], value), f"docs/science.md says {key} = {doc[key]!r}; code: {value!r}"


# ----------------------------------------------------------------------------- measurement


def _code_analysis() -> dict[str, Any]:
    out = {}
    for section, values in conditions.TASK_ANALYSIS_DEFAULTS.items():
        out.update({f"{section}.{k}": v for k, v in values.items()})
    for section in ("weights", "aggregate"):
        out.update({f"{section}.{k}": v for k, v in conditions.GLOBAL_DEFAULTS[section].items()})
    for key, value in effects.DEFAULT_SETTINGS.items():
        out.setdefault(f"aggregate.{key}", value)
    return out


def test_analysis_table_matches_every_measurement_default():
    doc = {name(r["key"]): parse_cell(r["default"]) for r in table("analysis")}
    code = _code_analysis()
    assert set(doc) == set(code), (
        f"missing in docs: {sorted(set(code) - set(doc))}; not in code: {sorted(set(doc) - set(code))}"
    )
    for key, value in code.items():
        assert same(doc[key], value), f"docs/science.md says {key} = {doc[key]!r}; code: {value!r}"


def test_aggregate_defaults_agree_between_study_config_and_effects_table():
    """Both homes of an aggregate default (the study defaults and the effects table) hold the
    value the page states."""
    doc = {name(r["key"]): parse_cell(r["default"]) for r in table("analysis")}
    for key, value in effects.DEFAULT_SETTINGS.items():
        assert same(doc[f"aggregate.{key}"], value), key
    for key, value in conditions.GLOBAL_DEFAULTS["aggregate"].items():
        assert same(doc[f"aggregate.{key}"], value), key


def test_eval_batch_matches_the_extract_default():
    from degeneracy.pipeline.extract import DEFAULT_EVAL

    doc = {name(r["key"]): parse_cell(r["default"]) for r in table("analysis")}
    assert {k: doc[f"eval.{k}"] for k in DEFAULT_EVAL} == DEFAULT_EVAL


def test_function_table_matches_signatures():
    for row in table("functions"):
        module_name, _, func_name = name(row["function"]).rpartition(".")
        func = getattr(importlib.import_module(module_name), func_name)
        param = inspect.signature(func).parameters[name(row["argument"])]
        assert same(parse_cell(row["default"]), param.default), f"{func_name}({name(row['argument'])})"


# ----------------------------------------------------------------------------- directions


def test_direction_table_matches_paper_directions():
    rows = table("directions")
    doc = {name(r["factor"]): {m: r[m].strip() for m in effects.MEASURES} for r in rows}
    assert doc == effects.PAPER_DIRECTIONS


def test_gamma_is_the_one_factor_that_raises_behavioral_degeneracy():
    """The page calls this out in prose; check the table it describes says so (independently of
    the code table above: counted from the page)."""
    rows = table("directions")
    assert [name(r["factor"]) for r in rows if r["behavior"].strip() == "up"] == ["gamma"]


# ----------------------------------------------------------------------------- self-containment


def test_no_reference_outside_the_repository():
    text = _text()
    for pattern in (r"SPEC\.md", r"\.\./", r"/work/", r"shared/"):
        assert not re.search(pattern, text), f"docs/science.md refers to {pattern!r}, outside the repository"


def test_every_named_repository_path_exists():
    text = _text()
    paths = set(
        re.findall(
            r"`((?:src|docs|tests|configs|rules|schemas)/[^`\s]+|workflow_config\.yaml)`",
            text,
        )
    )
    paths |= set(re.findall(r"\]\(((?!#|https?:)[^)]+)\)", text))
    assert paths, "the page names no repository path"
    for rel in sorted(paths):
        if "<" in rel:  # a pattern such as src/degeneracy/tasks/<task>.py
            continue
        if "*" in rel:
            assert any(ROOT.glob(rel)), f"docs/science.md names {rel}, which matches nothing"
            continue
        assert (ROOT / rel).exists() or (DOC.parent / rel).exists(), (
            f"docs/science.md names {rel}, which does not exist"
        )


def test_every_named_task_module_exists():
    text = _text()
    for module in set(re.findall(r"\(`(\w+\.py)`", text)):
        hits = list((ROOT / "src" / "degeneracy").rglob(module))
        assert hits, f"docs/science.md names {module}, not found under src/degeneracy"


# ----------------------------------------------------------------------------- constants stated in prose


def test_sine_input_is_f_over_30_plus_a_quarter():
    """The page states the sine task's constant input f/30 + 0.25 (not a knob): invert it to get
    f, and check the target is then sin(2 pi f t dt) and f one of the task's frequencies."""
    import math

    import torch

    task = task_class("sine")(n_channels=2, T=20)
    x, y, _ = task.sample(16, torch.Generator().manual_seed(0))
    f = (x[:, 0, :] - 0.25) * 30.0  # the frequency the doc's formula implies
    t = torch.arange(20, dtype=torch.float64).view(1, 20, 1)
    expected = torch.sin(2 * math.pi * f.double().unsqueeze(1) * t * task.dt)
    assert torch.allclose(y.double(), expected, atol=1e-4)
    assert torch.all(x == x[:, :1, :]), "the sine input is constant over the trial"
    assert torch.isclose(f.reshape(-1, 1), task.frequencies().view(1, -1), atol=1e-4).any(dim=1).all()


def test_muP_adam_rate_is_gamma_times_eta0_and_data_stream_offset():
    """Prose claims of the training section: Adam rate gamma * eta0 for muP (eta0 = training.lr)
    and the data generator seeded with seed + 1,000,003."""
    from degeneracy.training import loop

    cfg = config.resolve_config(
        {
            "task": {"name": "sine"},
            "model": {"kind": "mup", "gamma": 0.3},
            "training": {"lr": 0.05},
        }
    )
    assert loop.adam_lr(cfg) == pytest.approx(0.3 * 0.05)
    std = config.resolve_config({"task": {"name": "sine"}, "training": {"lr": 0.05}})
    assert loop.adam_lr(std) == 0.05
    assert "1,000,003" in _text() and loop._DATA_STREAM == 1_000_003
