"""Config -> conditions: ids stable and readable, sharing, seeds, meta rows, figures."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from degeneracy.conditions import build_study, canonical_json, condition_id, deep_merge, seed_list
from degeneracy.pipeline.codehash import code_hash, job_files

REPO = Path(__file__).resolve().parents[1]


def _cfg() -> dict:
    return {
        "experiments": {
            "complexity": {
                "factor": "channels",
                "tasks": ["flipflop", "path_integration"],
                "parameter": {"flipflop": "task.n_channels", "path_integration": "task.dim"},
                "levels": {"flipflop": [1, 2], "path_integration": [2, 3]},
                "seeds": 3,
                "model": {"kind": "standard", "n_units": 16},
            },
            "l1": {
                "factor": "l1",
                "tasks": ["flipflop"],
                "parameter": "training.regulariser.lambda",
                "levels": [0.0, 1e-4],
                "seeds": [0, 5],
                "model": {"kind": "standard", "n_units": 16},
                "settings": {"training": {"regulariser": {"kind": "l1"}}},
            },
            "gamma": {
                "factor": "gamma",
                "tasks": ["flipflop"],
                "parameter": "model.gamma",
                "levels": [0.1, 1.0],
                "seeds": 2,
                "model": {"kind": "mup", "n_units": 16},
            },
            "width": {
                "factor": "width",
                "tasks": ["flipflop"],
                "parameter": "model.n_units",
                "levels": [16, 32],
                "seeds": 2,
                "model": {"kind": "mup", "gamma": 1},
            },
        },
        "tasks": {
            "flipflop": {"knobs": {"n_channels": 3}, "training": {"lr": 3e-3}, "dsa": {"rank": 7}},
            "path_integration": {"knobs": {"dim": 2}},
        },
        "training": {"max_epochs": 10},
    }


def test_ids_are_readable():
    study = build_study(_cfg())
    ids = set(study.conditions)
    assert "flipflop-ch1-standard-n16" in ids
    assert "path_integration-dim3-standard-n16" in ids
    assert "flipflop-ch3-standard-n16-l1_0.0001" in ids
    assert "flipflop-ch3-mup-n16-g0.1" in ids
    for cid in ids:
        assert all(c.isalnum() or c in "-_." for c in cid), cid


def test_ids_independent_of_key_and_experiment_order():
    cfg = _cfg()
    rev = copy.deepcopy(cfg)
    rev["experiments"] = dict(reversed(list(cfg["experiments"].items())))
    rev["experiments"]["complexity"] = dict(reversed(list(cfg["experiments"]["complexity"].items())))
    rev["tasks"]["flipflop"] = dict(reversed(list(cfg["tasks"]["flipflop"].items())))
    a, b = build_study(cfg), build_study(rev)
    assert list(a.conditions) == list(b.conditions)
    for cid in a.conditions:
        assert canonical_json(a.conditions[cid].config) == canonical_json(b.conditions[cid].config)
    assert sorted(map(str, a.meta), key=str) == sorted(map(str, b.meta), key=str)
    assert condition_id({"task": {"name": "x", "b": 1, "a": 2}}) == condition_id(
        {"task": {"a": 2, "name": "x", "b": 1}}
    )


def test_identical_settings_share_one_condition():
    study = build_study(_cfg())
    # gamma level 1.0 and width level 16 (gamma: 1) are the same muP network (1.0 == 1)
    assert "flipflop-ch3-mup-n16-g1" in study.conditions
    shared = study.conditions["flipflop-ch3-mup-n16-g1"]
    assert sorted(shared.experiments) == ["gamma", "width"]
    assert sum(r["condition"] == shared.id for r in study.meta) == 2
    # lambda 0 is "no regulariser"
    assert "flipflop-ch3-standard-n16" in study.conditions
    assert study.conditions["flipflop-ch3-standard-n16"].config["training"]["regulariser"] == {
        "kind": "none",
        "lambda": 0.0,
    }


def test_seeds_union_and_lists():
    assert seed_list(3) == [0, 1, 2]
    assert seed_list([5, 1, 1]) == [1, 5]
    with pytest.raises(ValueError):
        seed_list(0)
    cfg = _cfg()
    cfg["experiments"]["complexity"]["levels"]["flipflop"] = [3]  # same as l1 level 0
    study = build_study(cfg)
    assert study.conditions["flipflop-ch3-standard-n16"].seeds == [0, 1, 2, 5]


def test_resolved_training_config():
    study = build_study(_cfg())
    c = study.conditions["flipflop-ch1-standard-n16"].config
    assert c["task"] == {"n_channels": 1, "name": "flipflop"}
    assert c["model"] == {"kind": "standard", "n_units": 16}
    assert c["training"]["lr"] == 3e-3 and c["training"]["max_epochs"] == 10
    assert study.conditions["flipflop-ch1-standard-n16"].analysis["dsa"]["rank"] == 7
    assert study.conditions["flipflop-ch3-mup-n32-g1"].config["model"]["n_units"] == 32


def test_library_accepts_condition_configs():
    from degeneracy.config import resolve_config

    for cond in build_study(_cfg()).conditions.values():
        resolve_config(cond.config)


def test_meta_rows():
    study = build_study(_cfg())
    assert len(study.meta) == 4 + 2 + 2 + 2
    assert all(isinstance(r["level"], float) for r in study.meta)
    assert {r["experiment"] for r in study.meta} == set(study.experiments)


def test_collisions_and_errors():
    cfg = _cfg()
    cfg["experiments"]["complexity"]["parameter"]["flipflop"] = "nonsense.x"
    with pytest.raises(ValueError, match="must start with"):
        build_study(cfg)
    cfg = _cfg()
    cfg["experiments"]["complexity"]["tasks"].append("sine")
    with pytest.raises(ValueError, match="sine"):
        build_study(cfg)


def test_figures_enabled_by_experiments():
    study = build_study(_cfg())
    assert {"fig3", "fig5", "fig6", "fig7", "fig8", "svcca", "effects", "training_curves", "example_trial"} == set(
        study.figures
    )
    assert study.figures["fig8"]["experiments"] == ["l1"]
    cfg = _cfg()
    cfg["figures"] = {"fig3": {"enabled": False}, "example_trial": {"experiment": "gamma", "level": 0.1, "seed": 1}}
    study = build_study(cfg)
    assert "fig3" not in study.figures
    assert study.figures["example_trial"]["condition"] == "flipflop-ch3-mup-n16-g0.1"


def test_deep_merge_does_not_mutate():
    a = {"x": {"y": 1}}
    b = deep_merge(a, {"x": {"z": 2}})
    assert a == {"x": {"y": 1}} and b == {"x": {"y": 1, "z": 2}}


def _rel(files):
    return {p.relative_to(REPO).as_posix() for p in files}


def test_training_code_is_scoped_to_its_task_and_model():
    files = _rel(job_files(REPO / "rules/scripts/train.py", REPO / "src", task="flipflop", model="standard"))
    assert {
        "src/degeneracy/tasks/flipflop.py",
        "src/degeneracy/models/standard.py",
        "src/degeneracy/training/loop.py",
        "src/degeneracy/tasks/base.py",
        "rules/scripts/train.py",
    } <= files
    assert (
        not {
            "src/degeneracy/tasks/sine.py",
            "src/degeneracy/tasks/delayed_discrimination.py",
            "src/degeneracy/models/mup.py",
        }
        & files
    )
    assert not any(f.startswith("src/degeneracy/metrics/") for f in files)
    unscoped = _rel(job_files(REPO / "rules/scripts/train.py", REPO / "src"))
    assert {"src/degeneracy/tasks/sine.py", "src/degeneracy/models/mup.py"} <= unscoped


def test_code_hash_follows_imports(tmp_path):
    """A planted package: the hash of a script changes exactly when a module it imports
    (directly, relatively, lazily inside a function, or through a package), or the C source
    beside such a module, changes."""
    src = tmp_path / "src"
    pkg = src / "degeneracy"
    (pkg / "metrics").mkdir(parents=True)
    (pkg / "tasks").mkdir()
    files = {
        "__init__.py": "",
        "metrics/__init__.py": "",
        "metrics/dsa.py": "from . import common\n",
        "metrics/common.py": "x = 1\n",
        "metrics/weights.py": "y = 1\n",
        "metrics/common.c": "int x;\n",
        "stats.py": "def f():\n    from degeneracy.metrics.dsa import common\n",
        "tasks/__init__.py": "from .base import Task\nfrom .a import A\nfrom .b import B\n",
        "tasks/base.py": "class Task: pass\n",
        "tasks/a.py": "from .base import Task\n",
        "tasks/b.py": "from .base import Task\n",
    }
    for rel, text in files.items():
        (pkg / rel).write_text(text)
    script = tmp_path / "job.py"
    script.write_text("from degeneracy.stats import f\nimport degeneracy.tasks\n")
    before = code_hash(script, src, task="a")
    unscoped = code_hash(script, src)
    for rel, changes in [
        ("metrics/common.py", True),
        ("metrics/common.c", True),  # the compiled code beside an imported module
        ("metrics/weights.py", False),
        ("tasks/b.py", False),
        ("tasks/a.py", True),
        ("tasks/base.py", True),
        ("stats.py", True),
    ]:
        original = (pkg / rel).read_text()
        (pkg / rel).write_text(original + "# edit\n")
        from degeneracy.pipeline import codehash

        codehash._closure.cache_clear()
        assert (code_hash(script, src, task="a") != before) is changes, rel
        (pkg / rel).write_text(original)
        codehash._closure.cache_clear()
    (pkg / "tasks/b.py").write_text("# edit\n")
    assert code_hash(script, src) != unscoped  # an unscoped job covers every entry


def test_every_task_lives_in_the_module_of_its_name():
    """The registry convention the scoped code hashes rely on."""
    from degeneracy.tasks import TASKS

    for name, cls in TASKS.items():
        assert cls.__module__ == f"degeneracy.tasks.{name}", name
    from degeneracy.config import MODEL_KINDS

    for kind in MODEL_KINDS:
        assert (REPO / "src" / "degeneracy" / "models" / f"{kind}.py").is_file()


def test_default_study_config_expands():
    cfg = yaml.safe_load((REPO / "workflow_config.yaml").read_text())
    study = build_study(cfg)
    assert set(study.experiments) == {
        "complexity",
        "memory",
        "auxiliary",
        "gamma",
        "gamma_flipflop",
        "width",
        "l1",
        "nuclear",
    }
    assert set(study.figures) >= {"fig3", "fig4", "fig5", "fig6", "fig7", "fig8", "effects"}


def test_conditions_module_imports_no_torch():
    code = (
        "import sys, importlib.util as u; "
        f"s = u.spec_from_file_location('c', {str(REPO / 'src/degeneracy/conditions.py')!r}); "
        "m = u.module_from_spec(s); sys.modules['c'] = m; s.loader.exec_module(m); "
        f"s = u.spec_from_file_location('h', {str(REPO / 'src/degeneracy/pipeline/codehash.py')!r}); "
        "m = u.module_from_spec(s); sys.modules['h'] = m; s.loader.exec_module(m); "
        f"sys.path.insert(0, {str(REPO / 'src')!r}); import degeneracy.validation, degeneracy.tasks; "
        "assert 'torch' not in sys.modules and 'numpy' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
