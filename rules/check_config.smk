# Checks the config before anything else (degeneracy.validation, loaded by path: no torch).
# A bad config prints one line, "config error: <key>=<value> is invalid; <allowed values>", to
# stderr and exits with status 1 before any job runs (Snakemake's validate() then never sees it).

import importlib.util as _ilu
import sys as _sys
from pathlib import Path as _Path

_spec = _ilu.spec_from_file_location(
    "_degeneracy_validation",
    _Path(workflow.basedir) / "src" / "degeneracy" / "validation.py",
)
_validation = _ilu.module_from_spec(_spec)
_sys.modules[_spec.name] = _validation
_spec.loader.exec_module(_validation)
_validation.exit_on_error(
    config, _Path(workflow.basedir) / "schemas" / "config.schema.yaml"
)
