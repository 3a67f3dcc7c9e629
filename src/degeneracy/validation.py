"""Checks of the workflow config before any job runs, with one clear line per problem.

The Snakefile calls :func:`exit_on_error` when the workflow is parsed (``rules/check_config.smk``),
before Snakemake's own schema validation (whose messages are long). :func:`check_config` first
validates ``schemas/config.schema.yaml`` (formatting the error as one line that names the key and
the allowed values) and then checks what a JSON schema cannot: known tasks, factors and task
knobs, parameter paths, duplicate levels, the knobs and training settings of every condition
(the rules of :func:`degeneracy.config.resolve_config` and the task generators, re-stated here
without torch), cross-knob ranges (``delay_min <= delay_max``) and the DSA rank against the
embedding dimension ``n_delays * n_units``.

Standard library only (plus ``yaml``/``jsonschema``, which Snakemake brings, for the schema), so
the Snakefile can load this file by path without importing torch. ``tests/test_config_errors.py``
keeps the task-knob table in sync with ``degeneracy.tasks``.
"""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path
from typing import Any, Callable, Mapping

__all__ = [
    "StudyConfigError",
    "FACTORS",
    "TASK_KNOBS",
    "check_config",
    "check_training_config",
    "exit_on_error",
]

_HERE = Path(__file__).resolve().parent


def _sibling(name: str):
    """Import a stdlib-only sibling module (works as ``degeneracy.validation`` and by path)."""
    try:
        return importlib.import_module(f".{name}", __package__) if __package__ else _by_path(name)
    except ImportError:
        return _by_path(name)


def _by_path(name: str):
    key = f"_degeneracy_{name}"
    if key in sys.modules:
        return sys.modules[key]
    spec = importlib.util.spec_from_file_location(key, _HERE / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[key] = mod
    spec.loader.exec_module(mod)
    return mod


class StudyConfigError(ValueError):
    """The workflow config is invalid; the message (one line) names the key and allowed values."""


#: Factor names the summaries, effects table and figures know (degeneracy.stats.PAPER_DIRECTIONS).
FACTORS = ("channels", "delay", "auxiliary", "gamma", "width", "l1", "nuclear")

# Knob specs: ("int", minimum) | ("number",) | ("number>0",) | ("bool",) | ("choice", values)
_INT1, _INT2, _INT0 = ("int", 1), ("int", 2), ("int", 0)
TASK_KNOBS: dict[str, dict[str, tuple]] = {
    "flipflop": {"n_channels": _INT1, "T": _INT2, "p_switch": ("range", 0.0, 1.0), "force_first": ("bool",)},
    "delayed_discrimination": {
        "n_channels": _INT1,
        "delay_min": _INT0,
        "delay_max": _INT0,
        "stim_onset": _INT0,
        "pulse_steps": _INT1,
        "response_steps": _INT1,
        "f_low": ("number",),
        "f_high": ("number",),
        "min_gap": ("number",),
        "input_scale": ("number",),
        "auxiliary": ("bool",),
        "mask_response": ("bool",),
    },
    "sine": {
        "n_channels": _INT1,
        "T": _INT2,
        "dt": ("number>0",),
        "n_freq": _INT1,
        "f_min": ("number>0",),
        "f_max": ("number>0",),
    },
    "path_integration": {
        "n_channels": _INT1,
        "dim": ("choice", (2, 3)),
        "T": _INT2,
        "box": ("number>0",),
        "speed_max": ("number",),
        "turn_sd": ("number",),
    },
}

#: Knob defaults needed by the cross-knob checks (same as the task dataclasses).
_KNOB_DEFAULTS = {
    "delayed_discrimination": {"delay_min": 5, "delay_max": 20, "f_low": 2.0, "f_high": 10.0, "min_gap": 1.0},
    "sine": {"f_min": 1.0, "f_max": 30.0},
    "path_integration": {"box": 5.0, "speed_max": 0.5, "turn_sd": 0.3},
}


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _show(value: Any) -> str:
    try:
        text = json.dumps(value, default=str)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _yaml_hint(value: Any) -> str:
    values = value if isinstance(value, list) else [value]
    for v in values:
        if isinstance(v, str):
            try:
                float(v)
            except ValueError:
                continue
            return (f" (YAML reads {v} as a string: write such numbers with a dot and a "
                    "signed exponent, e.g. 1.0e-3, 1.0e+30)")
    return ""


def _knob_error(task: str, key: str, value: Any) -> str | None:
    spec = TASK_KNOBS[task][key]
    kind = spec[0]
    if kind == "int" and not (_is_int(value) and value >= spec[1]):
        return f"it must be an integer >= {spec[1]}"
    if kind == "number" and not _is_num(value):
        return "it must be a number"
    if kind == "number>0" and not (_is_num(value) and value > 0):
        return "it must be a number > 0"
    if kind == "range" and not (_is_num(value) and spec[1] <= value <= spec[2]):
        return f"it must be a number in [{spec[1]}, {spec[2]}]"
    if kind == "bool" and not (isinstance(value, bool) or value in (0, 1)):
        return "allowed: [true, false]"
    if kind == "choice" and not (_is_int(value) and value in spec[1]):
        return f"allowed: {list(spec[1])}"
    return None


def check_task_knobs(task: str, knobs: Mapping[str, Any], where: str) -> None:
    """Unknown task or knob, bad knob values and cross-knob ranges -> StudyConfigError."""
    if task not in TASK_KNOBS:
        raise StudyConfigError(f"{where}: unknown task {task!r}; allowed tasks: {sorted(TASK_KNOBS)}")
    spec = TASK_KNOBS[task]
    for key, value in knobs.items():
        if key == "name":
            continue
        if key not in spec:
            raise StudyConfigError(f"{where}.{key}: unknown knob of task {task!r}; allowed knobs: {list(spec)}")
        problem = _knob_error(task, key, value)
        if problem:
            raise StudyConfigError(f"{where}.{key}={_show(value)} is invalid; {problem}")
    k = {**_KNOB_DEFAULTS.get(task, {}), **knobs}
    if task == "delayed_discrimination":
        if k["delay_min"] > k["delay_max"]:
            raise StudyConfigError(
                f"{where}: delay range delay_min={k['delay_min']} > delay_max={k['delay_max']}; "
                "allowed: delay_min <= delay_max"
            )
        if not (k["f_low"] < k["f_high"] and k["min_gap"] < k["f_high"] - k["f_low"]):
            raise StudyConfigError(
                f"{where}: f_low={k['f_low']}, f_high={k['f_high']}, min_gap={k['min_gap']} are invalid; "
                "allowed: f_low < f_high and min_gap < f_high - f_low"
            )
    if task == "sine" and not k["f_min"] <= k["f_max"]:
        raise StudyConfigError(f"{where}: f_min={k['f_min']} > f_max={k['f_max']}; allowed: 0 < f_min <= f_max")
    if task == "path_integration" and not (0 <= k["speed_max"] < k["box"] and k["turn_sd"] >= 0):
        raise StudyConfigError(
            f"{where}: box={k['box']}, speed_max={k['speed_max']}, turn_sd={k['turn_sd']} are invalid; "
            "allowed: 0 <= speed_max < box and turn_sd >= 0"
        )


def check_training_config(cfg: Mapping[str, Any], where: str = "config") -> None:
    """The checks of :func:`degeneracy.config.resolve_config`, without torch."""
    C = _sibling("config")
    task = dict(cfg.get("task", {}))
    name = task.pop("name", None)
    check_task_knobs(str(name), task, f"{where}: task")
    model = {**C.MODEL_DEFAULTS, **cfg.get("model", {})}
    unknown = sorted(set(model) - set(C.MODEL_DEFAULTS))
    if unknown:
        raise StudyConfigError(f"{where}: unknown model key(s) {unknown}; allowed: {sorted(C.MODEL_DEFAULTS)}")
    if model["kind"] not in C.MODEL_KINDS:
        raise StudyConfigError(f"{where}: model.kind={_show(model['kind'])} is invalid; allowed: {list(C.MODEL_KINDS)}")
    if model["readout_init"] not in C.READOUT_INITS:
        raise StudyConfigError(
            f"{where}: model.readout_init={_show(model['readout_init'])} is invalid; allowed: {list(C.READOUT_INITS)}"
        )
    if not (_is_int(model["n_units"]) and model["n_units"] >= 2):
        raise StudyConfigError(f"{where}: model.n_units={_show(model['n_units'])} is invalid; it must be an integer >= 2")
    for key in ("gamma", "tau"):
        if not (_is_num(model[key]) and model[key] > 0):
            raise StudyConfigError(f"{where}: model.{key}={_show(model[key])} is invalid; it must be a number > 0")
    training = {**C.TRAINING_DEFAULTS, **cfg.get("training", {})}
    unknown = sorted(set(training) - set(C.TRAINING_DEFAULTS))
    if unknown:
        raise StudyConfigError(f"{where}: unknown training key(s) {unknown}; allowed: {sorted(C.TRAINING_DEFAULTS)}")
    for key in ("lr", "threshold", "grad_clip"):
        v = training[key]
        if v is not None and not (_is_num(v) and v > 0):
            raise StudyConfigError(f"{where}: training.{key}={_show(v)} is invalid; it must be a number > 0 (or null)")
    pf = training["plateau_factor"]
    if not (_is_num(pf) and 0 < pf < 1):
        raise StudyConfigError(f"{where}: training.plateau_factor={_show(pf)} is invalid; it must be a number in (0, 1)")
    for key in ("batch_size", "steps_per_epoch", "max_epochs", "plateau_patience", "num_threads"):
        v = training[key]
        if not (_is_int(v) and v >= 1):
            raise StudyConfigError(f"{where}: training.{key}={_show(v)} is invalid; it must be an integer >= 1")
    if not (_is_int(training["stop_patience"]) and training["stop_patience"] >= 0):
        raise StudyConfigError(
            f"{where}: training.stop_patience={_show(training['stop_patience'])} is invalid; it must be an integer >= 0"
        )
    reg = {**C.TRAINING_DEFAULTS["regulariser"], **(training["regulariser"] or {})}
    if reg["kind"] not in C.REGULARISERS:
        raise StudyConfigError(
            f"{where}: training.regulariser.kind={_show(reg['kind'])} is invalid; allowed: {list(C.REGULARISERS)}"
        )
    if not (_is_num(reg["lambda"]) and reg["lambda"] >= 0):
        raise StudyConfigError(
            f"{where}: training.regulariser.lambda={_show(reg['lambda'])} is invalid; it must be a number >= 0"
        )
    if training["device"] not in C.DEVICES:
        raise StudyConfigError(f"{where}: training.device={_show(training['device'])} is invalid; allowed: {list(C.DEVICES)}")


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
    names = {"integer": "an integer", "number": "a number", "string": "a string", "boolean": "a boolean",
             "object": "a mapping"}
    if "array" in types:
        words = "a " + ("non-empty " if schema.get("minItems", 0) >= 1 else "") + "list"
        if schema.get("uniqueItems"):
            words += " without duplicates"
        if "items" in schema:
            items = _describe(schema["items"], root)
            for one, many in (("an integer", "integers"), ("a number", "numbers"), ("a boolean", "booleans"),
                              ("a string", "strings")):
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
    if "object" in types and isinstance(schema.get("additionalProperties"), Mapping) and "properties" not in schema:
        words += f" of task -> {_describe(schema['additionalProperties'], root)}"
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
    what = _describe(schema, root)
    line = f"{where}={_show(err.instance)} is invalid; it must be {what}"
    if err.validator in ("oneOf", "anyOf") and desc:
        line += f" ({' '.join(str(desc).split())})"
    return line + _yaml_hint(err.instance)


def _check_schema(config: Mapping, schema_path: Path | str) -> None:
    import jsonschema
    import yaml

    schema = yaml.safe_load(Path(schema_path).read_text())
    cls = jsonschema.validators.validator_for(schema)
    errors = list(cls(schema).iter_errors(config))
    if errors:
        best = max(errors, key=jsonschema.exceptions.relevance)
        raise StudyConfigError(_format_schema_error(best, schema))


# --------------------------------------------------------------------------- semantics


def _param_error(param: str, task: str, where: str) -> None:
    C = _sibling("config")
    parts = param.split(".")
    section, key = parts[0], ".".join(parts[1:])
    if section == "task":
        allowed = list(TASK_KNOBS[task])
    elif section == "model":
        allowed = list(C.MODEL_DEFAULTS)
    else:
        allowed = [k for k in C.TRAINING_DEFAULTS if k != "regulariser"] + ["regulariser.lambda", "regulariser.kind"]
    if key not in allowed:
        raise StudyConfigError(
            f"{where}={param!r} is invalid for task {task!r}; allowed: "
            f"{[f'{section}.{k}' for k in allowed]}"
        )


def _identity(value: Any) -> str:
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    return json.dumps(value)


def _check_semantics(config: Mapping) -> None:
    tasks_cfg = config.get("tasks", {}) or {}
    for task, tcfg in tasks_cfg.items():
        if task not in TASK_KNOBS:
            raise StudyConfigError(f"tasks.{task}: unknown task; allowed tasks: {sorted(TASK_KNOBS)}")
        check_task_knobs(task, (tcfg or {}).get("knobs", {}) or {}, f"tasks.{task}.knobs")
    for name, exp in (config.get("experiments", {}) or {}).items():
        where = f"experiments.{name}"
        if exp.get("factor") not in FACTORS:
            raise StudyConfigError(f"{where}.factor={_show(exp.get('factor'))} is unknown; allowed: {list(FACTORS)}")
        for task in exp["tasks"]:
            if task not in TASK_KNOBS:
                raise StudyConfigError(f"{where}.tasks: unknown task {task!r}; allowed tasks: {sorted(TASK_KNOBS)}")
            if task not in tasks_cfg:
                raise StudyConfigError(
                    f"{where}.tasks: task {task!r} has no entry under tasks:; configured tasks: {sorted(tasks_cfg)}"
                )
        for key in ("parameter", "levels"):
            value = exp[key]
            if isinstance(value, Mapping):
                missing = [t for t in exp["tasks"] if t not in value]
                extra = [t for t in value if t not in exp["tasks"]]
                if missing or extra:
                    raise StudyConfigError(
                        f"{where}.{key}: the mapping's keys must be the experiment's tasks {list(exp['tasks'])} "
                        f"(missing {missing}, not in tasks {extra})"
                    )
        for task in exp["tasks"]:
            param = exp["parameter"][task] if isinstance(exp["parameter"], Mapping) else exp["parameter"]
            _param_error(param, task, f"{where}.parameter")
            levels = exp["levels"][task] if isinstance(exp["levels"], Mapping) else exp["levels"]
            lw = f"{where}.levels" + (f".{task}" if isinstance(exp["levels"], Mapping) else "")
            if not levels:
                raise StudyConfigError(f"{lw}=[] is invalid; it must be a non-empty list of levels")
            seen = set()
            for level in levels:
                ident = _identity(level)
                if ident in seen:
                    raise StudyConfigError(f"{lw}={_show(levels)} is invalid; level {_show(level)} appears twice")
                seen.add(ident)


def _check_conditions(config: Mapping) -> None:
    conditions = _sibling("conditions")
    try:
        study = conditions.build_study(config)
    except (ValueError, KeyError, TypeError) as exc:
        raise StudyConfigError(" ".join(str(exc).split())) from None
    origin = {}
    for row in study.meta:
        origin.setdefault(row["condition"], row)
    for cid, cond in study.conditions.items():
        row = origin[cid]
        level = row["level"]
        where = f"experiments.{row['experiment']} (task {row['task']}, level {level:g})"
        check_training_config(cond.config, where)
        dsa = cond.analysis["dsa"]
        n_units = cond.config["model"].get("n_units", _sibling("config").MODEL_DEFAULTS["n_units"])
        emb = int(dsa["n_delays"]) * int(n_units)
        if int(dsa["rank"]) > emb:
            raise StudyConfigError(
                f"tasks.{cond.task}.dsa.rank={dsa['rank']} is invalid for {where}: it must be <= the embedding "
                f"dimension n_delays*n_units = {dsa['n_delays']}*{n_units} = {emb}"
            )


def check_config(config: Mapping, schema_path: Path | str | None = None) -> None:
    """Raise :class:`StudyConfigError` (one line naming the key and the allowed values) if the
    workflow config is invalid; ``schema_path``: the JSON schema to check first (None: skip)."""
    if not isinstance(config, Mapping):
        raise StudyConfigError(f"the config must be a mapping, got {type(config).__name__}")
    if schema_path is not None:
        _check_schema(config, schema_path)
    _check_semantics(config)
    _check_conditions(config)


def exit_on_error(config: Mapping, schema_path: Path | str | None = None, stream=None) -> None:
    """:func:`check_config`; on an invalid config print ``config error: <one line>`` to stderr and
    exit with status 1 (no traceback), before any job runs."""
    try:
        check_config(config, schema_path)
    except StudyConfigError as exc:
        print(f"config error: {' '.join(str(exc).split())}", file=stream or sys.stderr, flush=True)
        raise SystemExit(1) from None


def _main(argv: list[str]) -> int:  # python -m degeneracy.validation CONFIG.yaml
    import yaml

    for path in argv:
        exit_on_error(yaml.safe_load(Path(path).read_text()), _HERE.parents[1] / "schemas" / "config.schema.yaml")
        print(f"{path}: ok")
    return 0


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
