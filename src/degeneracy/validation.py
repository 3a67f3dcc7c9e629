"""Checks of the workflow config before any job runs, with one clear line per problem.

The Snakefile calls :func:`checked_study` when the workflow is parsed (``rules/common.smk``): it
checks the config and returns the expanded :class:`degeneracy.conditions.Study`, so the schema is
checked once and the study built once. Nothing here restates a rule of the code it checks:

* the JSON schema (``schemas/config.schema.yaml``) checks the shape of the config; its model and
  training parts are generated from :mod:`degeneracy.config`;
* every condition's training config is resolved by the real :func:`degeneracy.config.resolve_config`,
  which checks task knobs against the task class's own declarations;
* what neither can see is checked here: non-finite numbers anywhere, known factors, parameter
  paths, experiments whose levels collapse into fewer conditions, DSA settings against the probe
  trials, figure names, experiments and matplotlib rc keys.

Importing this module does not import torch (the task and config modules import it lazily).
``python -m degeneracy.validation CONFIG.yaml`` checks a config without Snakemake.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any, Mapping

from . import conditions as _conditions
from .config import MODEL_PARAMS, REGULARISER_PARAMS, TRAINING_PARAMS, ConfigError, resolve_config
from .tasks import TaskConfigError, make_task, task_class

__all__ = ["StudyConfigError", "FACTORS", "SCHEMA", "check_config", "checked_study", "exit_on_error"]

#: The schema shipped with the workflow.
SCHEMA = Path(__file__).resolve().parents[2] / "schemas" / "config.schema.yaml"

#: Factor names the summaries, effects table and figures know (degeneracy.stats.PAPER_DIRECTIONS).
FACTORS = ("channels", "delay", "auxiliary", "gamma", "width", "l1", "nuclear")

#: The config key a factor sweeps must change the condition for this model kind / regulariser.
_MUP_ONLY = {"model.gamma", "model.tau", "model.readout_init"}


class StudyConfigError(ValueError):
    """The workflow config is invalid; the message (one line) names the key and allowed values."""


def _show(value: Any) -> str:
    try:
        text = json.dumps(value, default=str)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _string_hint(value: Any) -> str:
    """A hint for numbers that reached the config as strings (quotes in YAML, or --config)."""
    values = value if isinstance(value, list) else [value]
    for v in values:
        if not isinstance(v, str):
            continue
        where = (
            "write the number without quotes; `snakemake --config` passes nested values as "
            "strings, so set nested keys in a --configfile overlay or use the top-level only= / seeds="
        )
        try:
            int(v)
            return f" ({_show(v)} is a string: {where})"
        except ValueError:
            pass
        try:
            float(v)
        except ValueError:
            continue
        if "e" in v.lower() and "." not in v.split("e")[0].split("E")[0]:
            return (
                f" ({_show(v)} is a string: YAML 1.1 reads an exponent without a dot as text; "
                "write it with a dot and a signed exponent, e.g. 1.0e-3)"
            )
        return f" ({_show(v)} is a string: {where})"
    return ""


# --------------------------------------------------------------------------- non-finite numbers


def _check_finite(node: Any, path: str = "") -> None:
    if isinstance(node, float) and not math.isfinite(node):
        raise StudyConfigError(f"{path or '<top level>'}={node} is invalid; every number must be finite")
    if isinstance(node, Mapping):
        for key, value in node.items():
            _check_finite(value, f"{path}.{key}" if path else str(key))
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            _check_finite(value, f"{path}[{i}]")


# --------------------------------------------------------------------------- JSON schema


def _path(parts) -> str:
    return ".".join(str(p) for p in parts) or "<top level>"


def _resolve(schema: Mapping, root: Mapping) -> Mapping:
    while isinstance(schema, Mapping) and "$ref" in schema:
        node: Any = root
        for part in schema["$ref"].lstrip("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def _describe(schema: Mapping, root: Mapping) -> str:
    """Short English description of what a (sub)schema allows."""
    schema = _resolve(schema, root)
    if "allOf" in schema:
        return " and ".join(_describe(s, root) for s in schema["allOf"])
    if "oneOf" in schema or "anyOf" in schema:
        return " or ".join(_describe(s, root) for s in schema.get("oneOf", schema.get("anyOf")))
    if "enum" in schema:
        return f"one of {json.dumps(schema['enum'])}"
    types = schema.get("type", [])
    types = [types] if isinstance(types, str) else list(types)
    names = {
        "integer": "an integer",
        "number": "a number",
        "string": "a string",
        "boolean": "a boolean",
        "object": "a mapping",
    }
    if "array" in types:
        n = schema.get("minItems", 0)
        words = "a " + (f"list of at least {n} items" if n >= 2 else ("non-empty list" if n == 1 else "list"))
        if schema.get("uniqueItems"):
            words += " without duplicates"
        if "items" in schema:
            items = _describe(schema["items"], root)
            for one, many in (
                ("an integer", "integers"),
                ("a number", "numbers"),
                ("a boolean", "booleans"),
                ("a string", "strings"),
            ):
                items = items.replace(one, many)
            words += f" of {items}"
        return words
    words = " or ".join(names[t] for t in types if t in names) or "a value"
    bounds = []
    for key, op in (("minimum", ">="), ("exclusiveMinimum", ">"), ("maximum", "<="), ("exclusiveMaximum", "<")):
        if key in schema:
            bounds.append(f"{op} {schema[key]}")
    if bounds:
        words += " " + " and ".join(bounds)
    if "pattern" in schema:
        words += f" matching {schema['pattern']}"
    if "null" in types:
        words += " (or null)"
    return words


def _format_schema_error(err, root: Mapping) -> str:
    path = list(err.absolute_path)
    where = _path(path)
    schema = err.schema if isinstance(err.schema, Mapping) else {}
    if err.validator == "additionalProperties" and isinstance(err.instance, Mapping):
        allowed = sorted(schema.get("properties", {}))
        extra = sorted(set(err.instance) - set(allowed))
        inside = f"in {where}" if path else "at the top level"
        return f"unknown key(s) {extra} {inside}; allowed keys: {allowed}"
    if err.validator == "required":
        return f"{where}: {err.message}; required keys: {sorted(schema.get('required', []))}"
    desc = schema.get("description")
    line = f"{where}={_show(err.instance)} is invalid; it must be {_describe(schema, root)}"
    if desc:
        line += f" ({' '.join(str(desc).split())})"
    return line + _string_hint(err.instance)


def _check_schema(config: Mapping, schema_path: Path | str) -> None:
    import jsonschema
    import yaml

    schema = yaml.safe_load(Path(schema_path).read_text())
    cls = jsonschema.validators.validator_for(schema)
    errors = list(cls(schema).iter_errors(config))
    if errors:
        best = jsonschema.exceptions.best_match(errors)
        raise StudyConfigError(_format_schema_error(best, schema))


# --------------------------------------------------------------------------- experiments


def _task_or_error(task: str, where: str):
    try:
        return task_class(task)
    except TaskConfigError as exc:
        raise StudyConfigError(f"{where}: {exc}") from None


def _allowed_parameters(task: str) -> list[str]:
    from dataclasses import fields

    knobs = [f"task.{f.name}" for f in fields(task_class(task))]
    model = [f"model.{k}" for k in MODEL_PARAMS]
    training = [f"training.{k}" for k in TRAINING_PARAMS] + [f"training.regulariser.{k}" for k in REGULARISER_PARAMS]
    return knobs + model + training


def _check_experiments(config: Mapping) -> None:
    tasks_cfg = config.get("tasks", {}) or {}
    for task in tasks_cfg:
        _task_or_error(task, f"tasks.{task}")
    for name, exp in (config.get("experiments", {}) or {}).items():
        where = f"experiments.{name}"
        if exp.get("factor") not in FACTORS:
            raise StudyConfigError(f"{where}.factor={_show(exp.get('factor'))} is unknown; allowed: {list(FACTORS)}")
        for task in exp["tasks"]:
            _task_or_error(task, f"{where}.tasks")
            if task not in tasks_cfg:
                raise StudyConfigError(
                    f"{where}.tasks: task {task!r} has no entry under tasks:; configured tasks: {sorted(tasks_cfg)}"
                )
        for key in ("parameter", "levels"):
            value = exp[key]
            if isinstance(value, Mapping):
                # keys for known tasks the experiment does not train are ignored, so one mapping
                # serves a run of a subset of its tasks (the pilot's --tasks); a typo is an error
                missing = [t for t in exp["tasks"] if t not in value]
                if missing:
                    raise StudyConfigError(
                        f"{where}.{key}: the mapping has no entry for task(s) {missing}; it needs one per task "
                        f"of the experiment {list(exp['tasks'])}"
                    )
                for t in value:
                    _task_or_error(str(t), f"{where}.{key}")
        for task in exp["tasks"]:
            param = exp["parameter"][task] if isinstance(exp["parameter"], Mapping) else exp["parameter"]
            allowed = _allowed_parameters(task)
            if param not in allowed:
                raise StudyConfigError(f"{where}.parameter={param!r} is invalid for task {task!r}; allowed: {allowed}")
            levels = exp["levels"][task] if isinstance(exp["levels"], Mapping) else exp["levels"]
            lw = f"{where}.levels" + (f".{task}" if isinstance(exp["levels"], Mapping) else "")
            if not levels:
                raise StudyConfigError(f"{lw}=[] is invalid; it must be a non-empty list of levels")
            seen = set()
            for level in levels:
                ident = _conditions.identity_json(level)
                if ident in seen:
                    raise StudyConfigError(f"{lw}={_show(levels)} is invalid; level {_show(level)} appears twice")
                seen.add(ident)
            if len(levels) < 2:
                raise StudyConfigError(
                    f"{lw}={_show(levels)} is invalid; a factor needs at least 2 levels to show an effect"
                )
    only = config.get("only") or []
    unknown = [e for e in only if e not in (config.get("experiments") or {})]
    if unknown:
        raise StudyConfigError(
            f"only={_show(only)} is invalid; unknown experiment(s) {unknown}; experiments: "
            f"{sorted(config.get('experiments') or {})}"
        )


# --------------------------------------------------------------------------- conditions


def _where(row: Mapping) -> str:
    return f"experiments.{row['experiment']} (task {row['task']}, level {row['level']:g})"


def _check_conditions(study) -> None:
    origin: dict[str, dict] = {}
    for row in study.meta:
        origin.setdefault(row["condition"], row)
    for cid, cond in study.conditions.items():
        where = _where(origin[cid])
        try:
            resolved = resolve_config(cond.config)
        except (ConfigError, TaskConfigError) as exc:
            raise StudyConfigError(f"{where}: {exc}") from None
        _check_dsa(cond, resolved, where)


def _check_dsa(cond, resolved: Mapping, where: str) -> None:
    """The condition's DSA settings against its probe trials and width."""
    dsa, probe = cond.analysis["dsa"], cond.analysis["probe"]
    task_cfg = {k: v for k, v in resolved["task"].items() if k != "name"}
    T = make_task(resolved["task"]["name"], **task_cfg).n_steps(ood=False)
    n_units = resolved["model"]["n_units"]
    window = (int(dsa["n_delays"]) - 1) * int(dsa["delay_interval"]) + 1
    key = f"tasks.{cond.task}.dsa"
    if window > T - 1:
        raise StudyConfigError(
            f"{key}: the delay window (n_delays-1)*delay_interval+1 = {window} steps is invalid for {where}: "
            f"it must be < the probe trial length {T} steps (reduce n_delays or delay_interval)"
        )
    rows = int(probe["n_trials"]) * (T - window + 1)
    emb = int(dsa["n_delays"]) * int(n_units)
    if int(dsa["rank"]) > min(emb, rows):
        raise StudyConfigError(
            f"{key}.rank={dsa['rank']} is invalid for {where}: it must be <= the embedding dimension "
            f"n_delays*n_units = {emb} and <= the Hankel rows n_trials*(T-window+1) = {rows}"
        )


def _check_collapse(study) -> None:
    """Every experiment's levels must give as many distinct conditions as levels."""
    per: dict[tuple[str, str], list[dict]] = {}
    for row in study.meta:
        per.setdefault((row["experiment"], row["task"]), []).append(row)
    for (exp, task), rows in per.items():
        conds = {r["condition"] for r in rows}
        if len(conds) < len(rows):
            econf = study.config["experiments"][exp]
            param = econf["parameter"][task] if isinstance(econf["parameter"], Mapping) else econf["parameter"]
            kind = (econf.get("model") or {}).get("kind", "standard")
            reason = ""
            if param in _MUP_ONLY and kind != "mup":
                reason = f": {param} has no effect on model kind {kind!r} (use kind: mup)"
            elif param.startswith("training.regulariser.lambda"):
                reason = ": the regulariser strength has no effect with regulariser kind 'none' (set settings.training.regulariser.kind)"
            raise StudyConfigError(
                f"experiments.{exp}.levels (task {task}) give {len(rows)} levels but only {len(conds)} "
                f"distinct condition(s){reason}"
            )


def _check_figures(study, config: Mapping) -> None:
    figures = config.get("figures", {}) or {}
    experiments = config.get("experiments", {}) or {}
    for name, fcfg in figures.items():
        if name not in _conditions.FIGURES:
            raise StudyConfigError(f"figures.{name}: unknown figure; figures: {list(_conditions.FIGURES)}")
        fcfg = fcfg or {}
        for exp in fcfg.get("experiments", []) or []:
            if exp not in experiments:
                raise StudyConfigError(
                    f"figures.{name}.experiments: unknown experiment {exp!r}; experiments: {sorted(experiments)}"
                )
        if fcfg.get("experiment") is not None and fcfg["experiment"] not in experiments:
            raise StudyConfigError(
                f"figures.{name}.experiment={fcfg['experiment']!r} is unknown; experiments: {sorted(experiments)}"
            )
        rc = fcfg.get("rc") or {}
        if rc:
            import matplotlib

            unknown = sorted(k for k in rc if k not in matplotlib.rcParams)
            if unknown:
                raise StudyConfigError(
                    f"figures.{name}.rc: unknown matplotlib rc key(s) {unknown} (see matplotlib.rcParams)"
                )


# --------------------------------------------------------------------------- entry points


def checked_study(config: Mapping, schema_path: Path | str | None = SCHEMA):
    """Check the workflow config and return its :class:`degeneracy.conditions.Study`.

    Raises :class:`StudyConfigError` (one line naming the key and the allowed values).
    ``schema_path``: the JSON schema to check first (None: skip).
    """
    if not isinstance(config, Mapping):
        raise StudyConfigError(f"the config must be a mapping, got {type(config).__name__}")
    _check_finite(config)
    if schema_path is not None:
        _check_schema(config, schema_path)
    _check_experiments(config)
    try:
        study = _conditions.build_study(config)
    except (ValueError, KeyError, TypeError) as exc:
        raise StudyConfigError(" ".join(str(exc).split())) from None
    _check_conditions(study)
    _check_collapse(study)
    _check_figures(study, config)
    return study


def defaults_notice(config: Mapping) -> str | None:
    """One line naming the training settings a study config leaves to the library defaults
    (a small config then trains with the paper-scale budgets), or None."""
    from .config import TRAINING_PARAMS

    given = set(config.get("training", {}) or {})
    for tcfg in (config.get("tasks", {}) or {}).values():
        given |= set((tcfg or {}).get("training", {}) or {})
    missing = [k for k in ("batch_size", "steps_per_epoch", "max_epochs", "plateau_patience") if k not in given]
    if not missing:
        return None
    shown = ", ".join(f"{k}={TRAINING_PARAMS[k].default}" for k in missing)
    return f"note: training settings not in the config take the library defaults: {shown} (docs/science.md)"


def check_config(config: Mapping, schema_path: Path | str | None = SCHEMA) -> None:
    """:func:`checked_study` without the result."""
    checked_study(config, schema_path)


def exit_on_error(config: Mapping, schema_path: Path | str | None = SCHEMA, stream=None):
    """:func:`checked_study`; on an invalid config print ``config error: <one line>`` to stderr and
    exit with status 1 (no traceback), before any job runs. Returns the study."""
    try:
        return checked_study(config, schema_path)
    except StudyConfigError as exc:
        print(f"config error: {' '.join(str(exc).split())}", file=stream or sys.stderr, flush=True)
        raise SystemExit(1) from None


def _main(argv: list[str]) -> int:  # python -m degeneracy.validation CONFIG.yaml
    import yaml

    if not argv:
        print("usage: python -m degeneracy.validation CONFIG.yaml [...]", file=sys.stderr)
        return 2
    print(f"checking with degeneracy at {Path(__file__).resolve().parent}", file=sys.stderr)
    for path in argv:
        try:
            config = yaml.safe_load(Path(path).read_text())
        except FileNotFoundError:
            print(f"config error: {path}: no such file", file=sys.stderr)
            return 1
        except yaml.YAMLError as exc:
            print(f"config error: {path} is not valid YAML: {' '.join(str(exc).split())}", file=sys.stderr)
            return 1
        study = exit_on_error(config)
        print(
            f"{path}: ok ({len(study.conditions)} conditions, "
            f"{sum(len(c.seeds) for c in study.conditions.values())} networks, outputs in {study.root}/)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
