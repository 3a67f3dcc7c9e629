"""fig3 panel A in the joint DSA space: one MDS of all levels' networks, coloured by level."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
from scipy.spatial.distance import pdist, squareform

import degeneracy.figures.factors as factors


def test_joint_panel_embeds_all_levels_in_one_space(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    pts = {"c1": rng.normal(0, 1.0, (5, 2)), "c3": rng.normal(3, 0.2, (4, 2))}  # level 3 clusters tighter
    keys = [(c, s) for c, p in pts.items() for s in range(len(p))]
    X = np.vstack(list(pts.values()))
    D = squareform(pdist(X))
    rows = [(*keys[i], *keys[j], D[i, j]) for i, j in itertools.combinations(range(len(keys)), 2)]
    joint = pd.DataFrame(rows, columns=["condition_a", "seed_a", "condition_b", "seed_b", "value"])
    meta = pd.DataFrame(
        {
            "experiment": "complexity",
            "factor": "channels",
            "task": "flipflop",
            "level": [1.0, 3.0],
            "condition": ["c1", "c3"],
        }
    )
    spread = pd.DataFrame(
        {"label": ["c1", "c3"], "n": [5, 4], "spread": [1.1, 0.2], "lo": [0.8, 0.1], "hi": [1.4, 0.3]}
    )
    captured = {}
    monkeypatch.setattr(factors, "save", lambda fig, png, pdf: captured.setdefault("fig", fig))
    factors.fig3(
        pd.DataFrame(), pd.DataFrame(), meta, tmp_path / "a.png", tmp_path / "a.pdf", joint=joint, spread=spread
    )
    ax = next(a for a in captured["fig"].get_axes() if "joint DSA space" in a.get_title(loc="left"))
    offsets = [c.get_offsets() for c in ax.collections]
    assert [len(o) for o in offsets] == [5, 4]  # one colour per level, every network
    Y = np.vstack(offsets)
    assert np.allclose(squareform(pdist(Y)), D, atol=1e-8)  # one shared embedding keeps every distance
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[0].startswith("1: spread 1.100") and labels[1].startswith("3: spread 0.200")
