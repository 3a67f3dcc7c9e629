"""The docs stay true: nothing refers to a file outside the repository or to one machine's paths,
and every repository path the README and docs/ name exists."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
THIS = Path(__file__).resolve()
DOCS = [REPO / "README.md", REPO / "results" / "README.md", *sorted((REPO / "docs").glob("*.md"))]

# a path into one of the repository's top-level folders, as the docs write them
TOP = r"(?:src|rules|docs|configs|tests|benchmarks|profiles|schemas|envs|examples|report)"
PATH = re.compile(rf"(?<![\w/.<>{{-])({TOP}/[A-Za-z0-9_./-]*[A-Za-z0-9_/])")


def _tracked() -> list[Path]:
    out = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    return [REPO / line for line in out.splitlines() if line]


def test_nothing_refers_outside_the_repository():
    bad = []
    outside = re.compile(r"SPEC\.md|\.\./shared|/work/shared")
    for path in _tracked():
        if path == THIS or not path.is_file() or path.suffix in {".npz", ".png", ".pdf", ".parquet"}:
            continue
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue
        for n, line in enumerate(text.splitlines(), 1):
            if outside.search(line):
                bad.append(f"{path.relative_to(REPO)}:{n}: {line.strip()[:100]}")
    assert not bad, "references outside the repository:\n" + "\n".join(bad)


def test_docs_name_no_machine_specific_paths():
    bad = []
    machine = re.compile(r"(/work/|/home/|/root/|/Users/|source\s+\S*venv\S*/bin/activate)")
    for doc in DOCS:
        for n, line in enumerate(doc.read_text().splitlines(), 1):
            if machine.search(line):
                bad.append(f"{doc.relative_to(REPO)}:{n}: {line.strip()[:100]}")
    assert not bad, "machine-specific paths:\n" + "\n".join(bad)


def test_every_repository_path_in_the_docs_exists():
    missing = []
    for doc in DOCS:
        for n, line in enumerate(doc.read_text().splitlines(), 1):
            for match in PATH.finditer(line):
                rel = match.group(1).rstrip("./")
                if any(c in rel for c in "<>{}*"):
                    continue
                if not (REPO / rel).exists():
                    missing.append(f"{doc.relative_to(REPO)}:{n}: {rel}")
    assert not missing, "paths named in the docs that do not exist:\n" + "\n".join(missing)


def test_path_check_can_fail(tmp_path):
    """The pattern finds a planted path (so the check above is not vacuous)."""
    assert PATH.findall("see `src/degeneracy/nope.py` and docs/missing.md.") == [
        "src/degeneracy/nope.py",
        "docs/missing.md",
    ]
