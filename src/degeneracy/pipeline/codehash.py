"""Code hashes of workflow jobs, derived from the imports of the code each job runs.

A job's code is its rule script (``rules/scripts/<name>.py``) plus every module of this package
that the script imports, followed transitively through ``import`` statements (read with ``ast``,
nothing is imported), and the C source ``x.c`` beside any such module ``x.py`` (the compiled
kernel of ``metrics/_qap.py``). The workflow passes the hash of these files as a rule parameter, so editing
a file re-runs exactly the jobs whose code imports it: editing ``metrics/dsa.py`` re-runs the DSA
jobs and no training; editing ``stats/effects.py`` re-runs the effects table and the figures that
import it.

Registries are scoped. ``degeneracy/tasks/`` and ``degeneracy/models/`` map a name to a module of
the same name (task ``flipflop`` -> ``tasks/flipflop.py``, model kind ``mup`` ->
``models/mup.py``). For a job that runs one task and one model kind (training, extraction), the
registry's other entry modules are left out: editing ``tasks/flipflop.py`` re-runs only flip-flop
jobs, editing ``models/mup.py`` no standard-model job. A task given by import path
(``my_pkg.tasks:MyTask``) contributes its own module file. Jobs that are not scoped include every
entry.

Standard library only: the Snakefile imports this module when it is parsed.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
from functools import lru_cache
from pathlib import Path

__all__ = ["REGISTRIES", "job_files", "code_hash"]

PACKAGE = "degeneracy"
#: Registry packages: package -> the kind of name that selects one of its entry modules.
REGISTRIES = {"degeneracy.tasks": "task", "degeneracy.models": "model"}


def _module_file(src: Path, module: str) -> Path | None:
    """File of ``module`` (dotted, inside the package) under ``src``, or None."""
    parts = module.split(".")
    base = src.joinpath(*parts)
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    if base.with_suffix(".py").is_file():
        return base.with_suffix(".py")
    return None


def _module_name(src: Path, path: Path) -> str:
    rel = path.relative_to(src).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports(src: Path, path: Path) -> set[str]:
    """Dotted names of the package's modules that ``path`` imports (anywhere in the file); each
    file is parsed once per process and content (the workflow hashes about 40 scripts whose
    import closures share most modules)."""
    st = path.stat()
    return set(_imports_of(src, path, st.st_mtime_ns, st.st_size))


@lru_cache(maxsize=None)
def _imports_of(src: Path, path: Path, mtime_ns: int, size: int) -> frozenset[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    here = _module_name(src, path) if path.is_relative_to(src) else ""
    is_pkg = path.name == "__init__.py"
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                pkg = here.split(".") if is_pkg else here.split(".")[:-1]
                pkg = pkg[: len(pkg) - (node.level - 1)]
                base = ".".join(pkg + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            out.add(base)
            out.update(f"{base}.{a.name}" for a in node.names)
    wanted = set()
    for name in out:
        if name != PACKAGE and not name.startswith(PACKAGE + "."):
            continue
        parts = name.split(".")
        for k in range(1, len(parts) + 1):  # importing a.b.c runs a, a.b and a.b.c
            wanted.add(".".join(parts[:k]))
    return frozenset(m for m in wanted if _module_file(src, m) is not None)


def _entry(module: str) -> tuple[str, str] | None:
    """(registry package, entry name) when ``module`` is an entry module of a registry."""
    pkg, _, leaf = module.rpartition(".")
    if pkg in REGISTRIES and leaf != "base":
        return pkg, leaf
    return None


@lru_cache(maxsize=None)
def _closure(src: Path, start: Path, scope: tuple[tuple[str, str], ...]) -> frozenset[Path]:
    keep = dict(scope)  # registry package -> the one entry this job runs
    files: set[Path] = set()
    todo = [start]
    while todo:
        path = todo.pop()
        if path in files:
            continue
        files.add(path)
        if path.with_suffix(".c").is_file():  # compiled code of the module (metrics/_qap.c)
            files.add(path.with_suffix(".c"))
        for module in _imports(src, path):
            entry = _entry(module)
            if entry is not None and entry[0] in keep and entry[1] != keep[entry[0]]:
                continue
            todo.append(_module_file(src, module))
    return frozenset(files)


def _external_task_file(task: str) -> Path | None:
    module = task.partition(":")[0]
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    return Path(spec.origin) if spec is not None and spec.origin else None


def job_files(script: str | Path, src: str | Path, task: str | None = None, model: str | None = None) -> list[Path]:
    """The files a job's code consists of: ``script`` and the package modules it imports
    (under ``src``, the folder holding ``degeneracy/``), scoped to ``task`` and ``model`` kind
    when given. Sorted; an import-path task adds its module's file."""
    src = Path(src).resolve()
    scope = []
    extra: list[Path] = []
    if task is not None:
        if ":" in task:
            scope.append(("degeneracy.tasks", "<external>"))
            external = _external_task_file(task)
            if external is not None:
                extra.append(external)
        else:
            scope.append(("degeneracy.tasks", task))
    if model is not None:
        scope.append(("degeneracy.models", model))
    files = set(_closure(src, Path(script).resolve(), tuple(sorted(scope))))
    return sorted(files | set(extra))


def code_hash(script: str | Path, src: str | Path, task: str | None = None, model: str | None = None) -> str:
    """SHA-256 (first 16 hex digits) over the contents of :func:`job_files` (names relative to
    the repository, so a moved clone has the same hash)."""
    src = Path(src).resolve()
    repo = src.parent
    h = hashlib.sha256()
    for path in job_files(script, src, task, model):
        try:
            name = path.relative_to(repo).as_posix()
        except ValueError:
            name = path.name
        h.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:16]
