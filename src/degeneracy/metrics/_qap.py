"""The compiled pairwise-swap searches of :mod:`degeneracy.metrics.weights` (``_qap.c``).

``pip install`` builds ``_qap.c`` into the extension file ``degeneracy/metrics/_qapc*.so`` (a
plain C library, loaded here with ctypes; no Python or numpy C API). :func:`kernel` returns it,
or None when it was not built (no C compiler at install time); the weight metrics then use their
numpy implementation of the same searches, several times slower.
"""

from __future__ import annotations

import ctypes
import importlib.util
from functools import lru_cache

import numpy as np

__all__ = ["kernel", "two_opt_c", "tabu_c"]

_DOUBLE_P = np.ctypeslib.ndpointer(dtype=np.float64, ndim=2, flags="C_CONTIGUOUS")
_INT64_P = np.ctypeslib.ndpointer(dtype=np.int64, ndim=1, flags="C_CONTIGUOUS")
_INT32_P = np.ctypeslib.ndpointer(dtype=np.int32, ndim=1, flags="C_CONTIGUOUS")


@lru_cache(maxsize=1)
def kernel() -> ctypes.CDLL | None:
    """The compiled library, or None when ``degeneracy.metrics._qapc`` was not built."""
    try:
        spec = importlib.util.find_spec("degeneracy.metrics._qapc")
    except (ImportError, ValueError):  # pragma: no cover
        spec = None
    if spec is None or not spec.origin:
        return None
    try:
        lib = ctypes.CDLL(spec.origin)
    except OSError:  # pragma: no cover - a broken build
        return None
    lib.qap_two_opt.argtypes = [ctypes.c_int, _DOUBLE_P, _DOUBLE_P, _INT64_P, ctypes.c_double]
    lib.qap_two_opt.restype = ctypes.c_int
    lib.qap_tabu.argtypes = [
        ctypes.c_int,
        _DOUBLE_P,
        _DOUBLE_P,
        _INT64_P,
        ctypes.c_int,
        _INT32_P,
        ctypes.c_double,
        ctypes.c_int,
        ctypes.POINTER(ctypes.c_double),
    ]
    lib.qap_tabu.restype = ctypes.c_int
    return lib


def _matrices(A, B) -> tuple[np.ndarray, np.ndarray]:
    return np.ascontiguousarray(A, dtype=np.float64), np.ascontiguousarray(B, dtype=np.float64)


def two_opt_c(A, B, perm, tol: float) -> np.ndarray:
    """Steepest-descent 2-opt from ``perm`` (swap gains above ``tol`` only); returns the local
    optimum (a new int64 array). Requires :func:`kernel`."""
    A, B = _matrices(A, B)
    p = np.array(perm, dtype=np.int64)
    if kernel().qap_two_opt(len(p), A, B, p, float(tol)) < 0:  # pragma: no cover
        raise MemoryError("2-opt: out of memory")
    return p


def tabu_c(A, B, perm, tenure: np.ndarray, tol: float, refresh: int = 1024) -> tuple[np.ndarray, float]:
    """Robust tabu search from ``perm`` for ``len(tenure)`` iterations; ``tenure`` (n_iter x 2
    ints) gives the tenures of the two swapped units at each iteration; the float32 gains and the
    float64 objective are recomputed every ``refresh`` iterations. Returns (best permutation
    visited, its objective sum_ij A_ij B[p_i, p_j], exact). Requires :func:`kernel`."""
    A, B = _matrices(A, B)
    p = np.array(perm, dtype=np.int64)
    ten = np.ascontiguousarray(np.asarray(tenure, dtype=np.int32).reshape(-1))
    out = ctypes.c_double()
    if kernel().qap_tabu(len(p), A, B, p, len(ten) // 2, ten, float(tol), int(refresh), ctypes.byref(out)) < 0:
        raise MemoryError("tabu search: out of memory")  # pragma: no cover
    return p, float(out.value)
