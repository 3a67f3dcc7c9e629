"""DSA in a set is never worse than a reachable minimum.

A pair's distance from one batched ``pairwise_distances`` call over a set must be (1) no higher
than what the same function returns for that pair alone with its default starts, and (2) no
higher than dsa-metric 2.0.2's value + 1e-3. The hard case: several equivalent copies of one
system (rotated, sign-flipped, unit-permuted) against a different system -- composition through a
copy only reproduces the alignment of an equivalent pair, so it cannot escape a shared local
minimum by itself.
"""

import numpy as np
import pytest
import torch

from degeneracy.metrics.dsa import fit_operator, pairwise_distances, procrustes_similarity_distance

from test_metrics_dsa import make_system

torch.set_num_threads(1)


def copies_and_other(seed_a: int, seed_b: int, seed: int = 3) -> list[np.ndarray]:
    """Operators [A, Q A Q^T, S A S, P A P^T, B] (delay embedding 8, interval 2, rank 12)."""
    rng = np.random.default_rng(seed)
    A = fit_operator(make_system(seed_a), 8, 2, 12).A
    B = fit_operator(make_system(seed_b), 8, 2, 12).A
    r = A.shape[0]
    Q, _ = np.linalg.qr(rng.standard_normal((r, r)))
    P = np.eye(r)[rng.permutation(r)]
    S = np.diag(np.where(rng.random(r) < 0.5, -1.0, 1.0))
    return [A, Q @ A @ Q.T, S @ A @ S, P @ A @ P.T, B]


# (2, 5): the batched call used to land 0.008 above the pair-alone value on every copy;
# (9, 10): the pair-alone value itself is 0.001 above the reference (the per-pair random starts
# of the first composition round find the lower minimum); (15, 16): the copies' pair-alone
# values differ by 0.005 (the set must give every copy the lowest).
@pytest.mark.parametrize("seed_a,seed_b", [(2, 5), (9, 10), (15, 16)])
def test_copies_against_another_system_not_above_reference_or_pair_alone(seed_a, seed_b):
    from DSA import SimilarityTransformDist

    ops = copies_and_other(seed_a, seed_b)
    D = pairwise_distances(ops, mode="euclidean", seed=0)
    assert D[:4, :4].max() <= 1e-3  # the copies are one system
    torch.manual_seed(0)
    for i in range(4):
        alone = pairwise_distances([ops[i], ops[4]], mode="euclidean", seed=0)[0, 1]
        assert D[i, 4] <= alone, (i, D[i, 4], alone)
        sd = SimilarityTransformDist(iters=1500, score_method="euclidean", lr=5e-3)
        ref = sd.fit_score(torch.tensor(ops[i]).float(), torch.tensor(ops[4]).float())
        assert D[i, 4] <= ref + 1e-3, (i, D[i, 4], ref)
    # the distance is invariant to the transformations: every copy gets the same value
    assert np.ptp(D[:4, 4]) <= 1e-3, D[:4, 4]
    assert D[:4, 4].min() > 0.1  # the fifth system is genuinely different


@pytest.mark.parametrize("seed", [0, 1])
def test_every_pair_of_a_set_at_most_its_pair_alone_value(seed):
    fits = [fit_operator(make_system(s, n=16), 4, 1, 16) for s in range(6)]
    D = pairwise_distances(fits, seed=seed)
    for i in range(6):
        for j in range(i + 1, 6):
            alone = pairwise_distances([fits[i], fits[j]], seed=seed)[0, 1]
            assert D[i, j] <= alone, (i, j, D[i, j], alone)


def test_batched_first_pass_equals_each_pair_run_alone():
    """A pair's starts and iterations do not depend on the other pairs of the batch: the batched
    optimisation returns bit for bit what each pair returns alone (what makes the guarantee above
    exact rather than statistical)."""
    mats = [fit_operator(make_system(s), 3, 1, 8).A for s in range(5)]
    T = torch.tensor(np.stack(mats))
    T = T / torch.linalg.matrix_norm(T)[:, None, None]
    I, J = np.triu_indices(5, 1)
    d = procrustes_similarity_distance(T[I], T[J], seed=4)
    alone = torch.cat([procrustes_similarity_distance(T[[i]], T[[j]], seed=4) for i, j in zip(I, J)])
    torch.testing.assert_close(d, alone, rtol=0, atol=0)
