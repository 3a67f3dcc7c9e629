"""The workflow face of ``measure``: one ``external`` config entry -> one measure run.

Config section (rules/external.smk, docs/measure.md)::

    external:
      my_rnns:
        networks: "data/my_rnns/*.npz"    # glob, folder or file (or a list of them)
        format: npz                       # auto | npz | torch
        group_by: delay                   # key of the group label ('folder': parent folder)
        dsa: {rank: 10, n_delays: 10, delay_interval: 1}

Outputs under ``results/external/<name>/``: the tables, figures and ``report.md`` of
:func:`degeneracy.measure.core.measure`. Standard library only at import time (the Snakefile
imports this module when it is parsed).
"""

from __future__ import annotations

import contextlib
import glob
import sys
import time
from pathlib import Path
from typing import Any, Mapping

__all__ = ["SPEC_KEYS", "DSA_KEYS", "OUTPUTS", "schema_fragment", "network_files", "measure_kwargs", "run_external"]

#: keys of one ``external`` entry and the ``measure`` argument each sets (None: handled apart)
SPEC_KEYS: dict[str, str | None] = {
    "networks": None,
    "format": "fmt",
    "group_by": "group_by",
    "levels": "levels",
    "metrics": "metrics",
    "weight_key": "weight_key",
    "inputs": "inputs",
    "nonlinearity": "nonlinearity",
    "dsa": None,
    "weight_restarts": "weight_restarts",
    "svcca_variance": "svcca_variance",
    "n_boot": "n_boot",
    "min_levels": "min_levels",
    "seed": "seed",
}
#: keys of an entry's ``dsa`` mapping -> ``measure`` arguments
DSA_KEYS = {
    "rank": "dsa_rank",
    "n_delays": "dsa_n_delays",
    "delay_interval": "dsa_delay_interval",
    "ridge": "dsa_ridge",
    "mode": "dsa_mode",
    "noise_floor": "dsa_null",
}
#: files every run writes (figures come on top when their distances exist)
OUTPUTS = ("networks.parquet", "pairwise.parquet", "distances.parquet", "summary.parquet", "report.md", "manifest.json")

_SUFFIXES = (".npz", ".pt", ".pth")


def schema_fragment() -> dict[str, Any]:
    """JSON-schema of the config's ``external`` section (the property to add to
    ``schemas/config.schema.yaml``); the keys are those of :data:`SPEC_KEYS` and :data:`DSA_KEYS`."""
    int1 = {"type": "integer", "minimum": 1}
    entry = {
        "type": "object",
        "additionalProperties": False,
        "required": ["networks"],
        "properties": {
            "networks": {
                "description": "glob pattern, folder or file of the networks (or a list of them)",
                "oneOf": [{"type": "string"}, {"type": "array", "minItems": 1, "items": {"type": "string"}}],
            },
            "format": {"type": "string", "enum": ["auto", "npz", "torch"]},
            "group_by": {
                "description": "key of each network's group label; 'folder' = parent folder",
                "type": "string",
            },
            "levels": {
                "description": "order of string group labels",
                "type": "array",
                "items": {"type": ["string", "number"]},
            },
            "metrics": {
                "type": "array",
                "uniqueItems": True,
                "items": {"type": "string", "enum": ["dsa", "weights", "svcca"]},
            },
            "weight_key": {"type": "string"},
            "inputs": {"description": ".npz with 'inputs' to run checkpoints on", "type": "string"},
            "nonlinearity": {"type": "string", "enum": ["tanh", "relu"]},
            "dsa": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "rank": dict(int1),
                    "n_delays": dict(int1),
                    "delay_interval": dict(int1),
                    "ridge": {"type": "number", "minimum": 0},
                    "mode": {"type": "string", "enum": ["euclidean", "angular", "wasserstein"]},
                    "noise_floor": {"description": "one DSA noise-floor row per network", "type": "boolean"},
                },
            },
            "weight_restarts": {"type": "integer", "minimum": 0},
            "svcca_variance": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
            "n_boot": dict(int1),
            "min_levels": {"type": "integer", "minimum": 2},
            "seed": {"type": "integer", "minimum": 0},
        },
    }
    return {
        "description": "your own networks to measure, by name (docs/measure.md); outputs in results/external/<name>/",
        "type": "object",
        "additionalProperties": entry,
    }


class ExternalConfigError(ValueError):
    """An ``external`` config entry is malformed (the message names the entry and key)."""


def _check(name: str, spec: Mapping[str, Any]) -> None:
    if not isinstance(spec, Mapping):
        raise ExternalConfigError(f"external.{name}: expected a mapping with at least 'networks', got {spec!r}")
    unknown = sorted(set(spec) - set(SPEC_KEYS))
    if unknown:
        raise ExternalConfigError(f"external.{name}: unknown key(s) {unknown}; expected some of {sorted(SPEC_KEYS)}")
    if "networks" not in spec:
        raise ExternalConfigError(f"external.{name}: missing key 'networks' (a glob, folder or file)")
    bad = sorted(set(spec.get("dsa") or {}) - set(DSA_KEYS))
    if bad:
        raise ExternalConfigError(f"external.{name}.dsa: unknown key(s) {bad}; expected some of {sorted(DSA_KEYS)}")


def network_files(name: str, spec: Mapping[str, Any]) -> list[str]:
    """The input files of entry ``name`` (globs and folders expanded, sorted), for the rule's
    ``input:`` -- a changed or added network file re-runs the entry. Companion ``.npz`` files
    of checkpoints and the ``inputs`` file are included (they are inputs too)."""
    _check(name, spec)
    items = spec["networks"]
    items = [items] if isinstance(items, str) else list(items)
    out: list[str] = []
    for item in items:
        p = Path(str(item))
        if p.is_dir():
            out += sorted(str(f) for f in p.iterdir() if f.suffix.lower() in _SUFFIXES)
        elif glob.has_magic(str(item)):
            out += sorted(glob.glob(str(item)))
        else:
            out.append(str(item))
        for f in list(out):
            companion = Path(f).with_suffix(".npz")
            if Path(f).suffix.lower() in (".pt", ".pth") and companion.exists() and str(companion) not in out:
                out.append(str(companion))
    if spec.get("inputs"):
        out.append(str(spec["inputs"]))
    return list(dict.fromkeys(out))


def measure_kwargs(name: str, spec: Mapping[str, Any]) -> dict[str, Any]:
    """Keyword arguments of :func:`degeneracy.measure.core.measure` for entry ``name``."""
    _check(name, spec)
    kw: dict[str, Any] = {}
    for key, arg in SPEC_KEYS.items():
        if arg is not None and spec.get(key) is not None:
            kw[arg] = spec[key]
    for key, value in (spec.get("dsa") or {}).items():
        kw[DSA_KEYS[key]] = value
    if isinstance(kw.get("metrics"), str):
        kw["metrics"] = [kw["metrics"]]
    if kw.get("levels") is not None:
        kw["levels"] = [str(v) for v in kw["levels"]]
    return kw


def run_external(name: str, spec: Mapping[str, Any], out: str | Path, log: str | Path | None = None, threads: int = 1):
    """Run entry ``name`` into folder ``out``; progress and any traceback go to ``log`` and a
    failure is re-raised as one line (``RuntimeError``) that names the log. Returns the
    :class:`~degeneracy.measure.core.MeasureResult`."""
    from .core import measure

    kw = measure_kwargs(name, spec)
    items = spec["networks"]
    items = [items] if isinstance(items, str) else list(items)
    if log is None:
        return measure(items, out=str(out), threads=threads, progress=print, **kw)
    Path(log).parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as fh, contextlib.redirect_stdout(fh), contextlib.redirect_stderr(fh):
        t0 = time.time()
        print(f"external {name}: {spec}", flush=True)
        try:
            res = measure(items, out=str(out), threads=threads, progress=lambda m: print(m, flush=True), **kw)
        except Exception as exc:
            import traceback

            traceback.print_exc(file=fh)
            failure = f"{type(exc).__name__}: {' '.join(str(exc).split())}"
        else:
            print(f"done in {time.time() - t0:.1f} s", flush=True)
            return res
    print(f"external {name} failed: {failure} (log: {log})", file=sys.stderr, flush=True)
    raise RuntimeError(f"external {name}: {failure}")
