"""Chunked pairwise jobs (issue 33): the purely pairwise measures (weights, SVCCA) run in jobs of
at most ``pairwise.pairs_per_job`` pairs, one per pair of seed blocks, and the gathered chunk
tables equal the table of one job over all pairs, value for value. Small synthetic networks,
the library functions the rules call."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from degeneracy.conditions import GLOBAL_DEFAULTS, block_size, pair_chunks
from degeneracy.io import atomic_write_parquet
from degeneracy.pipeline.pairwise import chunk_pairs, gather
from degeneracy.pipeline.pairwise_svcca import SPECTRUM_COLUMNS, pairwise_svcca
from degeneracy.pipeline.pairwise_weights import pairwise_weights
from degeneracy.costs import MEASURED
from degeneracy.plan import rule_resources

REPO = Path(__file__).resolve().parents[1]
N = 10
WEIGHTS = {"n_restarts": 2, "seed": 3, "tabu_iters": 20}


def _all_pairs(seeds):
    return {(a, b) for a, b in itertools.combinations(sorted(seeds), 2)}


@pytest.mark.parametrize("pairs_per_job", [4, 5, 9, 100, 2500])
@pytest.mark.parametrize("seeds", [list(range(7)), list(range(50)), [0, 3, 4, 11, 12, 30]])
def test_chunks_cover_every_pair_once_and_stay_under_the_bound(seeds, pairs_per_job):
    B = block_size(pairs_per_job)
    assert B * B <= max(pairs_per_job, 4) and B >= 2
    seen = []
    for a, b, sa, sb in pair_chunks(seeds, pairs_per_job):
        assert a <= b and all(s // B == a for s in sa) and all(s // B == b for s in sb)
        pairs = [(s, t) for s in sa for t in sb if s < t]
        assert 0 < len(pairs) <= pairs_per_job
        seen += pairs
    assert len(seen) == len(set(seen)) and set(seen) == _all_pairs(seeds)


def test_adding_seeds_keeps_every_full_blocks_chunk():
    """4 -> 6 seeds at 2 seeds per block: the three old chunks unchanged, three new ones, each
    with a new seed; the new chunks hold exactly the new pairs."""
    old = {(a, b): (sa, sb) for a, b, sa, sb in pair_chunks(range(4), 4)}
    new = {(a, b): (sa, sb) for a, b, sa, sb in pair_chunks(range(6), 4)}
    assert all(new[k] == v for k, v in old.items())
    added = set(new) - set(old)
    assert added == {(0, 2), (1, 2), (2, 2)}
    pairs = {(s, t) for k in added for s in new[k][0] for t in new[k][1] if s < t}
    assert pairs == _all_pairs(range(6)) - _all_pairs(range(4))


def test_chunk_pairs_selects_the_pairs_between_two_blocks():
    seeds = [0, 1, 2, 5, 6, 7]
    assert chunk_pairs(seeds) == list(itertools.combinations(range(6), 2))
    assert chunk_pairs(seeds, ([0, 1, 2], [5, 6, 7])) == [(i, j) for i in range(3) for j in range(3, 6)]
    assert chunk_pairs(seeds, ([5, 6, 7], [5, 6, 7])) == [(3, 4), (3, 5), (4, 5)]
    # a block whose networks did not converge (absent from seeds) has no pair
    assert chunk_pairs([0, 1], ([0, 1], [2, 3])) == []


def _network(root: Path, seed: int, converged: bool = True, width: int = N):
    rng = np.random.default_rng(seed)
    W0 = rng.standard_normal((width, width)) / np.sqrt(width)
    W = W0 + 0.3 * rng.standard_normal((width, width)) / np.sqrt(width)
    d = root / f"seed{seed}"
    d.mkdir(parents=True)
    atomic_write_parquet(
        pd.DataFrame({"condition": ["c"], "seed": [seed], "converged": [converged]}), d / "network.parquet"
    )
    ii, jj = np.meshgrid(np.arange(width), np.arange(width), indexing="ij")
    cols = {"i": ii.ravel().astype(np.int32), "j": jj.ravel().astype(np.int32), "value": W.ravel()}
    cols["value_init"] = W0.ravel()
    atomic_write_parquet(pd.DataFrame(cols), d / "weights.parquet")
    for name, scale in (("trajectories", 1.0), ("trajectories_probe2", 0.7)):
        # low-rank activity plus noise, so the variance rule keeps different counts per network
        k = 2 + seed % 3
        H = rng.standard_normal((4, 6, k)) @ rng.standard_normal((k, width)) + 0.05 * rng.standard_normal((4, 6, width))
        traj = pd.DataFrame((scale * H).reshape(24, width).astype(np.float32), columns=[f"h{u}" for u in range(width)])
        traj.insert(0, "time", np.tile(np.arange(6, dtype=np.int32), 4))
        traj.insert(0, "trial", np.repeat(np.arange(4, dtype=np.int32), 6))
        atomic_write_parquet(traj, d / f"{name}.parquet")


def _files(root: Path, seeds, name):
    return [str(root / f"seed{s}" / f"{name}.parquet") for s in seeds]


@pytest.fixture(scope="module")
def networks(tmp_path_factory):
    root = tmp_path_factory.mktemp("nets")
    seeds = list(range(7))
    for s in seeds:
        _network(root, s, converged=s != 4)  # one block holds a network that did not converge
    return root, seeds


def _chunked(root, seeds, pairs_per_job, run):
    """Run ``run(chunk seeds, files of its blocks, out)`` for every chunk; the chunk outputs."""
    outs = []
    for a, b, sa, sb in pair_chunks(seeds, pairs_per_job):
        job = sorted(set(sa) | set(sb))
        outs.append(run(job, (sa, sb), root / f"chunk{pairs_per_job}_{a}-{b}"))
    return outs


def test_chunked_weights_equal_one_job_value_for_value(networks, tmp_path):
    root, seeds = networks
    one = pairwise_weights(
        "c",
        _files(root, seeds, "network"),
        _files(root, seeds, "weights"),
        WEIGHTS,
        tmp_path / "all.parquet",
        trajectory_paths=_files(root, seeds, "trajectories"),
    )
    assert len(one) == 8 * 15  # 6 converged networks, 15 pairs, 8 metrics

    def run(job, chunk, out):
        pairwise_weights(
            "c",
            _files(root, job, "network"),
            _files(root, job, "weights"),
            WEIGHTS,
            f"{out}.parquet",
            trajectory_paths=_files(root, job, "trajectories"),
            chunk=chunk,
        )
        return f"{out}.parquet"

    for ppj in (4, 9):
        chunks = _chunked(root, seeds, ppj, run)
        assert len(chunks) > 1
        gathered = gather(chunks, tmp_path / f"gathered{ppj}.parquet")
        pd.testing.assert_frame_equal(gathered, gather([tmp_path / "all.parquet"]), check_exact=True)
        pd.testing.assert_frame_equal(gathered, one.astype(gathered.dtypes.to_dict()), check_exact=True)


@pytest.mark.parametrize("n_components", [3, None])
def test_chunked_svcca_equals_one_job_value_for_value(networks, tmp_path, n_components):
    root, seeds = networks
    common = dict(variance=0.9, n_components=n_components)
    pairwise_svcca(
        "c",
        _files(root, seeds, "network"),
        _files(root, seeds, "trajectories"),
        tmp_path / "all.parquet",
        probe2_paths=_files(root, seeds, "trajectories_probe2"),
        out_spectrum=tmp_path / "all_spec.parquet",
        **common,
    )

    def run(job, chunk, out):
        pairwise_svcca(
            "c",
            _files(root, job, "network"),
            _files(root, job, "trajectories"),
            f"{out}.parquet",
            probe2_paths=_files(root, job, "trajectories_probe2"),
            out_spectrum=f"{out}_spec.parquet",
            chunk=chunk,
            **common,
        )
        return f"{out}.parquet"

    for ppj in (4, 9):
        chunks = _chunked(root, seeds, ppj, run)
        pd.testing.assert_frame_equal(gather(chunks), gather([tmp_path / "all.parquet"]), check_exact=True)
        spec = dict(columns=SPECTRUM_COLUMNS, by=("seed_a", "seed_b", "component"))
        got = gather([c.replace(".parquet", "_spec.parquet") for c in chunks], **spec)
        want = gather([tmp_path / "all_spec.parquet"], **spec)
        assert len(want) > 0
        pd.testing.assert_frame_equal(got, want, check_exact=True)
        assert set(gather(chunks)["metric"]) == {"svcca", "svcca_probe2"}


def test_gather_refuses_a_pair_measured_twice(networks, tmp_path):
    root, seeds = networks
    out = tmp_path / "one.parquet"
    pairwise_svcca("c", _files(root, seeds[:3], "network"), _files(root, seeds[:3], "trajectories"), out)
    with pytest.raises(ValueError, match="two chunks"):
        gather([out, out])


def test_auto_blocks_by_hand_at_the_paper_widest_networks():
    """``auto`` at n = 512 and 2,048 probe trials, by hand from the measured costs: 2,700 s /
    26.6 s per weight pair = 101 pairs, isqrt -> blocks of 10 seeds (100 pairs, 44 min); a DSA-grid
    network costs 3 intervals x 288 s + 9 nulls x 0.032 s = 864.3 s -> 3 networks per fit job."""
    from degeneracy.costs import network_block, pair_block

    assert MEASURED["pairwise_weights_pair_s_n512"] == 26.6 and MEASURED["dsa_fit_network_s_n512"] == 288.0
    assert pair_block(512, 2048) == 10
    assert network_block(512, 2048) == 3
    # narrower and smaller probes: larger blocks (fewer jobs), never smaller
    assert pair_block(128, 2048) == 70 and network_block(128, 2048) == 49
    assert pair_block(512, 2048, target_s=60.0) == 2  # at least one pair per job


def test_auto_keeps_every_paper_job_under_its_request():
    """Every weight, SVCCA and DSA-grid job of configs/paper.yaml, as the workflow sizes them, is
    projected under 45 min on one core and within its rule's runtime and memory requests."""
    from degeneracy.conditions import build_study
    from degeneracy.plan import load_config, over_requests, study_jobs

    assert GLOBAL_DEFAULTS["pairwise"]["pairs_per_job"] == "auto"
    study = build_study(load_config(REPO / "configs" / "paper.yaml"))
    jobs = study_jobs(study, figures=False)
    bounded = [j for j in jobs if j.rule in ("pairwise_weights", "pairwise_svcca", "dsa_grid_fit", "dsa_grid")]
    assert {j.rule for j in bounded} == {"pairwise_weights", "pairwise_svcca", "dsa_grid_fit", "dsa_grid"}
    assert max(j.seconds for j in bounded) <= 45 * 60
    res = rule_resources(REPO)
    assert over_requests(bounded, res) == []
    assert all(res[r]["runtime"] <= 60 for r in ("pairwise_weights", "pairwise_svcca", "dsa_grid_fit", "dsa_grid"))
