/* Pairwise-swap local searches for the quadratic assignment problem
 *
 *     maximise f(p) = sum_ij A[i][j] B[p[i]][p[j]]   over permutations p,
 *
 * the kernel of degeneracy.metrics.weights (loaded with ctypes by degeneracy/metrics/_qap.py;
 * built by `pip install` as the extension degeneracy.metrics._qapc). Plain C99, no Python API.
 * A and B are row-major n x n doubles; permutations are int64 arrays, changed in place.
 *
 * Swap gains. D[r][s] (r < s) is the change of f when the units at positions r and s swap:
 *
 *   D[r][s] = (A_rr - A_ss)(b_ss - b_rr) + (A_rs - A_sr)(b_sr - b_rs)
 *             + sum_{k != r,s} (A_rk - A_sk)(b_sk - b_rk) + (A_kr - A_ks)(b_ks - b_kr),
 *
 * with b_xy = B[p[x]][p[y]]: O(n) for one pair. After the swap of u and v, a pair r, s disjoint
 * from u, v changes in O(1) (Taillard 1991):
 *
 *   D'[r][s] = D[r][s] - (al_r - al_s)(ga_r - ga_s) - (be_r - be_s)(de_r - de_s),
 *
 * al_x = A_xu - A_xv, be_x = A_ux - A_vx, ga_x = b_xv - b_xu, de_x = b_vx - b_ux (b before the
 * swap); the 2n - 3 pairs that contain u or v are recomputed in O(n) each. One iteration is
 * O(n^2) with a small constant.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define AT(M, i, j) ((M)[(size_t)(i) * n + (j)])

/* The O(n^2) loops also get an AVX2 version, chosen at load time where the CPU has it (GCC on
 * x86-64). Without contraction into FMA (-ffp-contract=off) both versions round identically. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define WIDE __attribute__((target_clones("avx2", "default")))
#else
#define WIDE
#endif

typedef float real; /* the gains and the permuted copies; the objective is float64 */

/* The search state: A and its transpose At; C = B[p][:, p] (C_xy = b_xy) and its transpose Ct,
 * kept permuted so that every gain reads contiguous rows; D the gains (upper triangle); w 4n
 * reals of workspace. */

typedef struct {
    int n;
    const double *A64, *B64;
    real *A, *At, *C, *Ct, *D, *w;
    int64_t *p;
} state;

/* f(p) in float64 from the original matrices. */
static double objective(const state *S) {
    const int n = S->n;
    const double *A = S->A64, *B = S->B64;
    const int64_t *p = S->p;
    double f = 0.0;
    for (int i = 0; i < n; i++) {
        const double *a = A + (size_t)i * n, *b = B + (size_t)p[i] * n;
        for (int j = 0; j < n; j++) f += a[j] * b[p[j]];
    }
    return f;
}

/* D[r][s] (r < s) from the sum over all k of T_k = (A_rk - A_sk)(C_sk - C_rk) + (A_kr - A_ks)(C_ks
 * - C_kr) (the change of f's row and column k): less its terms k = r, s, plus the four entries
 * where rows and columns r, s meet. O(1). */
static real finish(const state *S, int r, int s, real sum) {
    const int n = S->n;
    const real *ar = S->A + (size_t)r * n, *as = S->A + (size_t)s * n;
    const real *tr = S->At + (size_t)r * n, *ts = S->At + (size_t)s * n;
    const real *cr = S->C + (size_t)r * n, *cs = S->C + (size_t)s * n;
    const real *ur = S->Ct + (size_t)r * n, *us = S->Ct + (size_t)s * n;
    for (int q = 0; q < 2; q++) {
        const int k = q ? s : r;
        sum -= (ar[k] - as[k]) * (cs[k] - cr[k]) + (tr[k] - ts[k]) * (us[k] - ur[k]);
    }
    return sum + (ar[r] - as[s]) * (cs[s] - cr[r]) + (ar[s] - as[r]) * (cs[r] - cr[s]);
}

/* Eight partial sums added in a fixed order: vectorised, and the same result on every machine. */
static real total(const real *acc) {
    return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

/* The sums over k of T_k for the pairs (u, x) and (v, x), in one pass that reads the rows of x
 * once. T_k is the same for (y, x) and (x, y): both of its factors change sign. */
WIDE static void sums2(const state *S, int u, int v, int x, real *su, real *sv) {
    const int n = S->n;
    const real *au = S->A + (size_t)u * n, *av = S->A + (size_t)v * n, *ax = S->A + (size_t)x * n;
    const real *tu = S->At + (size_t)u * n, *tv = S->At + (size_t)v * n, *tx = S->At + (size_t)x * n;
    const real *cu = S->C + (size_t)u * n, *cv = S->C + (size_t)v * n, *cx = S->C + (size_t)x * n;
    const real *uu = S->Ct + (size_t)u * n, *uv = S->Ct + (size_t)v * n, *ux = S->Ct + (size_t)x * n;
    real pu[8] = {0}, pv[8] = {0};
    int k = 0;
    for (; k + 8 <= n; k += 8)
        for (int l = 0; l < 8; l++) {
            const int j = k + l;
            pu[l] += (ax[j] - au[j]) * (cu[j] - cx[j]) + (tx[j] - tu[j]) * (uu[j] - ux[j]);
            pv[l] += (ax[j] - av[j]) * (cv[j] - cx[j]) + (tx[j] - tv[j]) * (uv[j] - ux[j]);
        }
    for (; k < n; k++) {
        pu[0] += (ax[k] - au[k]) * (cu[k] - cx[k]) + (tx[k] - tu[k]) * (uu[k] - ux[k]);
        pv[0] += (ax[k] - av[k]) * (cv[k] - cx[k]) + (tx[k] - tv[k]) * (uv[k] - ux[k]);
    }
    *su = total(pu);
    *sv = total(pv);
}

/* D[r][s], r < s. O(n). */
static real gain(const state *S, int r, int s) {
    real sr, unused;
    sums2(S, s, s, r, &sr, &unused);
    return finish(S, r, s, sr);
}

/* All of D, two pairs (r, s), (r, s + 1) per pass over row r: O(n^3). */
static void all_gains(state *S) {
    const int n = S->n;
    for (int r = 0; r < n; r++)
        for (int s = r + 1; s < n; s += 2) {
            const int s2 = s + 1 < n ? s + 1 : s;
            real a, b;
            sums2(S, s, s2, r, &a, &b);
            AT(S->D, r, s) = finish(S, r, s, a);
            AT(S->D, r, s2) = finish(S, r, s2, b);
        }
}

static void swap_rows_cols(int n, real *M, int u, int v) {
    real *mu = M + (size_t)u * n, *mv = M + (size_t)v * n;
    for (int k = 0; k < n; k++) {
        real t = mu[k];
        mu[k] = mv[k];
        mv[k] = t;
    }
    for (int k = 0; k < n; k++) {
        real t = AT(M, k, u);
        AT(M, k, u) = AT(M, k, v);
        AT(M, k, v) = t;
    }
}

/* Swap positions u < v and bring C, Ct and the gains D up to date. */
WIDE static void apply_swap(state *S, int u, int v) {
    const int n = S->n;
    real *al = S->w, *be = S->w + n, *ga = S->w + 2 * n, *de = S->w + 3 * n;
    const real *tu = S->At + (size_t)u * n, *tv = S->At + (size_t)v * n;
    const real *au = S->A + (size_t)u * n, *av = S->A + (size_t)v * n;
    const real *cu = S->C + (size_t)u * n, *cv = S->C + (size_t)v * n;
    const real *uu = S->Ct + (size_t)u * n, *uv = S->Ct + (size_t)v * n;
    for (int x = 0; x < n; x++) {
        al[x] = tu[x] - tv[x]; /* A_xu - A_xv */
        be[x] = au[x] - av[x]; /* A_ux - A_vx */
        ga[x] = uv[x] - uu[x]; /* C_xv - C_xu */
        de[x] = cv[x] - cu[x]; /* C_vx - C_ux */
    }
    int64_t t = S->p[u];
    S->p[u] = S->p[v];
    S->p[v] = t;
    swap_rows_cols(n, S->C, u, v);
    swap_rows_cols(n, S->Ct, u, v);
    for (int r = 0; r < n; r++) {
        if (r == u || r == v) continue;
        const real ar = al[r], br = be[r], gr = ga[r], dr = de[r];
        real *row = S->D + (size_t)r * n;
        for (int s = r + 1; s < n; s++) row[s] -= (ar - al[s]) * (gr - ga[s]) + (br - be[s]) * (dr - de[s]);
    }
    for (int x = 0; x < n; x++) { /* the pairs that contain u or v: recomputed */
        if (x == u || x == v) continue;
        real su, sv;
        sums2(S, u, v, x, &su, &sv);
        if (x < u) AT(S->D, x, u) = finish(S, x, u, su);
        else AT(S->D, u, x) = finish(S, u, x, su);
        if (x < v) AT(S->D, x, v) = finish(S, x, v, sv);
        else AT(S->D, v, x) = finish(S, v, x, sv);
    }
    AT(S->D, u, v) = gain(S, u, v);
}

/* Allocate the state for A, B and the permutation p (used in place); NULL when out of memory. */
static state *state_new(int n, const double *A, const double *B, int64_t *p) {
    const size_t nn = (size_t)n * n;
    state *S = malloc(sizeof(state));
    real *buf = malloc(sizeof(real) * (5 * nn + 4 * (size_t)n));
    if (S == NULL || buf == NULL) {
        free(S);
        free(buf);
        return NULL;
    }
    S->n = n;
    S->A64 = A;
    S->B64 = B;
    S->A = buf;
    S->At = buf + nn;
    S->C = buf + 2 * nn;
    S->Ct = buf + 3 * nn;
    S->D = buf + 4 * nn;
    S->w = buf + 5 * nn;
    S->p = p;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            S->A[(size_t)i * n + j] = (real)A[(size_t)i * n + j];
            S->At[(size_t)j * n + i] = (real)A[(size_t)i * n + j];
            S->C[(size_t)i * n + j] = (real)B[(size_t)p[i] * n + p[j]];
            S->Ct[(size_t)j * n + i] = S->C[(size_t)i * n + j];
        }
    all_gains(S);
    return S;
}

static void state_free(state *S) {
    free(S->A);
    free(S);
}

/* Steepest-descent 2-opt from p (changed in place to the local optimum): apply the best swap
 * (first in row-major order among equal gains) while its gain exceeds tol. Returns the number
 * of swaps, or -1 when out of memory. */
WIDE int qap_two_opt(int n, const double *A, const double *B, int64_t *p, double tol) {
    state *S = state_new(n, A, B, p);
    if (S == NULL) return -1;
    const real *D = S->D;
    int swaps = 0;
    for (long it = 0; it < (long)n * n; it++) {
        real best = -INFINITY;
        int br = -1, bs = -1;
        for (int r = 0; r < n; r++)
            for (int s = r + 1; s < n; s++)
                if (AT(D, r, s) > best) {
                    best = AT(D, r, s);
                    br = r;
                    bs = s;
                }
        if (br < 0 || !(best > tol)) break;
        apply_swap(S, br, bs);
        swaps++;
    }
    state_free(S);
    return swaps;
}

/* Robust tabu search (Taillard 1991) from p, n_iter iterations; on return p holds the best
 * permutation visited and *fbest its objective (exact, recomputed).
 *
 * Each iteration applies the best swap that is not tabu, even when it lowers f. A swap of
 * positions r, s is tabu while both units would return to positions they left within their
 * tenure: tabu[r][s] is the iteration until which the unit now at s may not move to r. A tabu
 * swap is allowed when it gives a new best (aspiration: gain > fbest - f + tol). When every
 * swap is tabu the search waits. tenure: 2 * n_iter ints, the tenures of the two units of the
 * swap at iteration it (1-based) at [2 (it - 1)] and [2 (it - 1) + 1]. The gains are recomputed
 * exactly every `refresh` iterations. Returns 0, or -1 when out of memory. */
WIDE int qap_tabu(int n, const double *A, const double *B, int64_t *p, int n_iter, const int32_t *tenure, double tol,
             int refresh, double *fbest) {
    state *S = state_new(n, A, B, p);
    int32_t *tabu = calloc((size_t)n * n, sizeof(int32_t));
    int64_t *pbest = malloc(sizeof(int64_t) * (size_t)n);
    if (S == NULL || tabu == NULL || pbest == NULL) {
        if (S != NULL) state_free(S);
        free(tabu);
        free(pbest);
        return -1;
    }
    const real *D = S->D;
    double f = objective(S), fb = f;
    memcpy(pbest, p, sizeof(int64_t) * (size_t)n);
    for (int it = 1; it <= n_iter; it++) {
        const real asp = (real)(fb - f + tol);
        real best = -INFINITY;
        int br = -1, bs = -1;
        for (int r = 0; r < n; r++) {
            const real *row = D + (size_t)r * n;
            const int32_t *trow = tabu + (size_t)r * n;
            for (int s = r + 1; s < n; s++) {
                const real g = row[s];
                if (g > best && !(trow[s] > it && AT(tabu, s, r) > it && g <= asp)) {
                    best = g;
                    br = r;
                    bs = s;
                }
            }
        }
        if (br < 0) continue; /* every swap tabu (tiny n): wait for tenures to expire */
        apply_swap(S, br, bs);
        f += best;
        if (f > fb + tol) {
            fb = f;
            memcpy(pbest, p, sizeof(int64_t) * (size_t)n);
        }
        for (int x = 0; x < n; x++) { /* the units moved: swap their tabu columns */
            int32_t t = AT(tabu, x, br);
            AT(tabu, x, br) = AT(tabu, x, bs);
            AT(tabu, x, bs) = t;
        }
        AT(tabu, br, bs) = it + tenure[2 * (it - 1)];     /* the unit that left br (now at bs) */
        AT(tabu, bs, br) = it + tenure[2 * (it - 1) + 1]; /* the unit that left bs (now at br) */
        if (refresh > 0 && it % refresh == 0) {
            all_gains(S);
            f = objective(S);
        }
    }
    memcpy(p, pbest, sizeof(int64_t) * (size_t)n);
    *fbest = objective(S);
    state_free(S);
    free(tabu);
    free(pbest);
    return 0;
}
