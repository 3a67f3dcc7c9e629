"""Input formats of ``degeneracy measure``: loaders and checks, one clear error per problem.

Formats (docs/measure.md):

* **Arrays** (``.npz``, one file per network): ``W`` (n, n) recurrent matrix and
  ``trajectories`` (trials, time, n) hidden states on probe inputs shared by all networks
  ((time, n) is read as one trial). Optional: ``ood_loss`` (a scalar or one value per trial),
  ``W0`` (n, n) initial weights, ``group`` (a label: number or string).
* **PyTorch checkpoints** (``.pt`` / ``.pth``): a ``state_dict`` (possibly nested in a dict
  under any key) holding a recurrent weight; the default key is any key ending in
  ``weight_hh_l0`` (``torch.nn.RNN``), otherwise name it with ``weight_key``. Trajectories come
  from a ``.npz`` with the same stem beside it (same keys as above, ``W`` not needed), or are
  computed by running the ``torch.nn.RNN`` described by the state dict on user inputs
  (``inputs``: a ``.npz`` with ``inputs`` (trials, time, n_in)).
* **A folder or a glob** of either. In a folder, a ``.npz`` with the stem of a checkpoint
  beside it is that checkpoint's companion, not a network of its own.

Every problem raises :class:`MeasureInputError` with a message that starts with the file.
"""

from __future__ import annotations

import glob
import math
import os
import re
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

__all__ = [
    "MeasureInputError",
    "Network",
    "NETWORK_SUFFIXES",
    "expand_inputs",
    "load_npz",
    "load_torch",
    "load_networks",
    "from_arrays",
    "read_inputs",
    "MAX_ARRAY_BYTES",
    "MAX_ABS_VALUE",
    "safe_text",
    "check_npz_header",
]

#: largest array (bytes, as declared in a ``.npz`` member's header) that is loaded at all
MAX_ARRAY_BYTES = 4 * 2**30
#: largest magnitude accepted in any array: squares and sums of larger values overflow float64
MAX_ABS_VALUE = 1e100

NETWORK_SUFFIXES = (".npz", ".pt", ".pth")
_TORCH_SUFFIXES = (".pt", ".pth")


class MeasureInputError(ValueError):
    """An input network file is missing, unreadable or malformed (the message names it)."""


@dataclass
class Network:
    """One network to measure, as loaded and checked.

    ``W``: (n, n) float64 recurrent matrix; ``trajectories``: (trials, time, n) float64 hidden
    states; ``ood_loss``: mean OOD loss (NaN when not given); ``W0``: (n, n) or None;
    ``group``: label (str) or None; ``name``: unique display name; ``path``: source file.
    """

    name: str
    path: str
    W: np.ndarray
    trajectories: np.ndarray
    ood_loss: float = math.nan
    W0: np.ndarray | None = None
    group: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    #: True / False when the file says (key ``converged``), None when nothing is known
    converged: bool | None = None

    @property
    def n_units(self) -> int:
        """Width n (number of hidden units)."""
        return int(self.W.shape[0])


def safe_text(text: object) -> str:
    """``text`` with control and other unprintable characters escaped (``\\n``, ``\\x1b``),
    so a hostile file name cannot rewrite the terminal or split an error line."""
    out = []
    for ch in str(text):
        if ch.isprintable() or ch == " ":
            out.append(ch)
        else:
            out.append(ch.encode("unicode_escape").decode("ascii"))
    return "".join(out)


def _fail(path: str | Path, problem: str) -> MeasureInputError:
    return MeasureInputError(safe_text(f"{path}: {problem}"))


def _regular(path: Path) -> None:
    """Refuse anything but a regular file (a named pipe would block on open), without opening it."""
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        raise _fail(path, f"cannot be read ({exc.strerror or type(exc).__name__})") from exc
    if not stat.S_ISREG(mode):
        kind = (
            "a named pipe"
            if stat.S_ISFIFO(mode)
            else "a socket"
            if stat.S_ISSOCK(mode)
            else "a device"
            if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
            else "not a file"
        )
        raise _fail(path, f"is {kind}, not a regular file; give .npz or .pt files")


def expand_inputs(items: Sequence[str | Path], fmt: str = "auto", exclude: Iterable[str | Path] = ()) -> list[Path]:
    """Network files from files, folders (their ``*.npz``/``*.pt``/``*.pth``, not recursive) and
    glob patterns, in the given order (folders and globs sorted); duplicates dropped.

    ``fmt``: ``auto`` (by suffix), ``npz`` or ``torch`` (keep only that kind from folders/globs).
    ``exclude``: files never taken as networks (e.g. the ``inputs`` file).
    Raises :class:`MeasureInputError` for a path that does not exist or a glob with no match.
    """
    if fmt not in ("auto", "npz", "torch"):
        raise MeasureInputError(f"unknown format {fmt!r}: expected auto, npz or torch")
    wanted = {"auto": NETWORK_SUFFIXES, "npz": (".npz",), "torch": _TORCH_SUFFIXES}[fmt]
    skip = {Path(p).resolve() for p in exclude}
    out: list[Path] = []
    seen: set[Path] = set()

    def add(p: Path) -> None:
        r = p.resolve()
        if r not in seen and r not in skip:
            seen.add(r)
            out.append(p)

    def many(paths: list[Path]) -> None:
        # an unfinished training's resume snapshot (<checkpoint>.resume.pt) is not a network
        paths = [
            p
            for p in sorted(paths)
            if p.is_file() and p.suffix.lower() in wanted and not p.name.lower().endswith(".resume.pt")
        ]
        torch_stems = {(p.parent, p.stem) for p in paths if p.suffix.lower() in _TORCH_SUFFIXES}
        for p in paths:
            if p.suffix.lower() == ".npz" and (p.parent, p.stem) in torch_stems:
                continue  # a checkpoint's trajectory companion
            add(p)

    for item in items:
        s = str(item)
        p = Path(s)
        if p.is_dir():
            many(list(p.iterdir()))
        elif p.exists():
            _regular(p)
            add(p)
        elif glob.has_magic(s):
            matches = [Path(m) for m in glob.glob(s)]
            if not matches:
                raise MeasureInputError(f"{s}: no file matches this pattern")
            many(matches)
        else:
            raise MeasureInputError(f"{s}: no such file or folder")
    return out


def check_npz_header(path: Path, max_bytes: int = MAX_ARRAY_BYTES) -> None:
    """Check a ``.npz`` before loading it: a zip archive (not a renamed ``.npy``), every member
    a ``.npy`` array whose declared size is at most ``max_bytes`` and fits the bytes the archive
    holds for it, no object (pickle) arrays. Reads the headers only."""
    with open(path, "rb") as fh:
        magic = fh.read(6)
    if magic == b"\x93NUMPY":
        raise _fail(
            path,
            "is a .npy file (one array), not a .npz archive; save the arrays with "
            "np.savez(path, W=..., trajectories=...)",
        )
    if not zipfile.is_zipfile(path):
        raise _fail(path, "not a readable .npz file (not a zip archive)")
    try:
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                key = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
                with zf.open(info) as f:
                    version = np.lib.format.read_magic(f)
                    if version == (1, 0):
                        shape, _, dtype = np.lib.format.read_array_header_1_0(f)
                    else:
                        shape, _, dtype = np.lib.format.read_array_header_2_0(f)
                if dtype.hasobject:
                    raise _fail(path, f"{key!r} is an object array (a pickle); only numeric arrays are read")
                nbytes = int(np.prod(shape, dtype=object)) * int(dtype.itemsize)
                if nbytes > max_bytes:
                    raise _fail(
                        path,
                        f"{key!r} declares a {' x '.join(map(str, shape))} {dtype} array ({nbytes / 2**30:.3g} GiB), "
                        f"above the {max_bytes / 2**30:.3g} GiB limit of measure",
                    )
                if nbytes > info.file_size:
                    raise _fail(
                        path,
                        f"{key!r} declares a {' x '.join(map(str, shape))} {dtype} array ({nbytes} bytes) but the "
                        f"archive holds {info.file_size} bytes for it (truncated or forged header)",
                    )
    except MeasureInputError:
        raise
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, RuntimeError, NotImplementedError) as exc:
        raise _fail(path, f"not a readable .npz file ({type(exc).__name__}: {' '.join(str(exc).split())})") from exc


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    if not path.exists():
        raise _fail(path, "no such file")
    _regular(path)
    check_npz_header(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, MemoryError, AttributeError) as exc:
        detail = " ".join(str(exc).split())
        raise _fail(path, f"not a readable .npz file ({type(exc).__name__}: {detail})") from exc


def _array(path: Path, data: dict, key: str, ndim: Sequence[int], required: bool = True) -> np.ndarray | None:
    if key not in data:
        if required:
            keys = ", ".join(sorted(data)) or "none"
            raise _fail(path, f"missing key {key!r} (keys present: {keys})")
        return None
    a = np.asarray(data[key])
    if a.dtype.kind not in "biuf":
        raise _fail(path, f"{key!r} must be numeric, got dtype {a.dtype}")
    if a.ndim not in ndim:
        raise _fail(path, f"{key!r} must have {' or '.join(map(str, ndim))} dimensions, got shape {a.shape}")
    with np.errstate(over="ignore", invalid="ignore"):
        a = a.astype(np.float64)
    if not np.isfinite(a).all():
        bad = int((~np.isfinite(a)).sum())
        raise _fail(path, f"{key!r} contains NaN or inf ({bad} of {a.size} values)")
    big = float(np.abs(a).max()) if a.size else 0.0
    if big > MAX_ABS_VALUE:
        raise _fail(
            path,
            f"{key!r} holds values as large as {big:.3g}: distances of such values overflow "
            f"(|value| must be at most {MAX_ABS_VALUE:.0e})",
        )
    return a


def _label(path: Path, data: dict, key: str) -> str | None:
    if key not in data:
        return None
    v = np.asarray(data[key])
    if v.size != 1:
        raise _fail(path, f"group label {key!r} must be a single value, got shape {v.shape}")
    v = v.reshape(()).item()
    if isinstance(v, bytes):
        v = v.decode(errors="replace")
    if isinstance(v, float) and not math.isfinite(v):
        raise _fail(path, f"group label {key!r} is {v}: give every network a real label")
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    v = str(v)
    if not v.strip() or v.strip().lower() in ("nan", "inf", "-inf", "none"):
        raise _fail(path, f"group label {key!r} is {v!r}: give every network a real label")
    return safe_text(v)


def _converged(path: Path, data: dict) -> bool | None:
    if "converged" not in data:
        return None
    v = np.asarray(data["converged"])
    if v.size != 1 or v.dtype.kind not in "biuf":
        raise _fail(path, f"'converged' must be a single true/false value, got {v.dtype} of shape {v.shape}")
    x = float(v.reshape(()).item())
    if x not in (0.0, 1.0):
        raise _fail(path, f"'converged' must be true/false (1/0), got {x}")
    return bool(x)


def _trajectories(path: Path, data: dict, n: int, source: Path) -> np.ndarray:
    traj = _array(source, data, "trajectories", (2, 3))
    if traj.ndim == 2:
        traj = traj[None]
    if traj.shape[2] != n:
        raise _fail(
            source,
            f"trajectories have {traj.shape[2]} units (shape {traj.shape}) but W"
            + (f" in {path}" if source != path else "")
            + f" is {n} x {n}",
        )
    if traj.shape[1] < 2:
        raise _fail(source, f"trajectories need at least 2 time steps, got shape {traj.shape}")
    if traj.shape[0] < 1 or traj.shape[2] < 1:
        raise _fail(source, f"trajectories are empty (shape {traj.shape})")
    if not np.any(traj):
        raise _fail(source, "trajectories are all zero: no activity to compare (DSA and SVCCA need it to vary)")
    if float(np.ptp(traj)) == 0.0:
        raise _fail(source, "trajectories are constant: no activity to compare (DSA and SVCCA need it to vary)")
    return traj


def _extras(path: Path, data: dict, W: np.ndarray, traj: np.ndarray, group_key: str, source: Path) -> dict:
    out: dict[str, Any] = {}
    ood = _array(source, data, "ood_loss", (0, 1), required=False)
    if ood is not None:
        if ood.ndim == 1 and ood.size not in (1, traj.shape[0]):
            raise _fail(
                source, f"ood_loss must be a scalar or one value per trial ({traj.shape[0]}), got {ood.size} values"
            )
        out["ood_loss"] = float(ood.mean())
    W0 = _array(source, data, "W0", (2,), required=False)
    if W0 is not None and W0.shape != W.shape:
        raise _fail(source, f"W0 has shape {W0.shape} but W has shape {W.shape}")
    out["W0"] = W0
    out["group"] = _label(source, data, group_key)
    out["converged"] = _converged(source, data)
    return out


def load_npz(path: str | Path, group_key: str = "group") -> Network:
    """One network from an arrays file (module doc); raises :class:`MeasureInputError`."""
    path = Path(path)
    data = _read_npz(path)
    W = _array(path, data, "W", (2,))
    if W.shape[0] != W.shape[1]:
        raise _fail(path, f"W must be square (n x n), got shape {W.shape}")
    traj = _trajectories(path, data, W.shape[0], path)
    ex = _extras(path, data, W, traj, group_key, path)
    return _network(path.stem, str(path), W, traj, ex)


def _network(name: str, path: str, W: np.ndarray, traj: np.ndarray, ex: dict) -> Network:
    return Network(
        safe_text(name),
        path,
        W,
        traj,
        ex.get("ood_loss", math.nan),
        ex["W0"],
        ex["group"],
        converged=ex.get("converged"),
    )


def from_arrays(data: dict, name: str, group_key: str = "group") -> Network:
    """One network from in-memory arrays with the keys of the ``.npz`` format (``W``,
    ``trajectories``, optional ``ood_loss``, ``W0``, ``group``); raises
    :class:`MeasureInputError` naming ``name``."""
    label = Path(name)
    data = {k: (v.detach().cpu().numpy() if hasattr(v, "detach") else v) for k, v in dict(data).items()}
    W = _array(label, data, "W", (2,))
    if W.shape[0] != W.shape[1]:
        raise _fail(label, f"W must be square (n x n), got shape {W.shape}")
    traj = _trajectories(label, data, W.shape[0], label)
    ex = _extras(label, data, W, traj, group_key, label)
    return _network(str(name), str(name), W, traj, ex)


def _flatten(obj: Any, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    if isinstance(obj, dict):
        for k, v in obj.items():
            out.update(_flatten(v, f"{prefix}{k}."))
    else:
        out[prefix[:-1]] = obj
    return out


def _run_rnn(
    path: Path, tensors: dict, key: str, inputs: np.ndarray, inputs_path: Path, nonlinearity: str
) -> np.ndarray:
    """Hidden states (trials, time, n) of the torch.nn.RNN whose layer-0 weights sit beside ``key``."""
    import torch

    prefix = key[: -len("weight_hh_l0")] if key.endswith("weight_hh_l0") else None
    if prefix is None or f"{prefix}weight_ih_l0" not in tensors:
        raise _fail(
            path,
            f"cannot run the network on --inputs: {key!r} is not the weight_hh_l0 of a torch.nn.RNN with a "
            f"weight_ih_l0 beside it; put its trajectories in {path.with_suffix('.npz')} instead",
        )
    W_ih = tensors[f"{prefix}weight_ih_l0"]
    W_hh = tensors[key]
    n, n_in = W_hh.shape[0], W_ih.shape[1]
    if inputs.shape[2] != n_in:
        raise _fail(inputs_path, f"inputs have {inputs.shape[2]} channels but {path} expects {n_in}")
    has_bias = f"{prefix}bias_ih_l0" in tensors
    rnn = torch.nn.RNN(n_in, n, nonlinearity=nonlinearity, bias=has_bias, batch_first=True).double()
    state = {"weight_ih_l0": W_ih, "weight_hh_l0": W_hh}
    if has_bias:
        state["bias_ih_l0"] = tensors[f"{prefix}bias_ih_l0"]
        state["bias_hh_l0"] = tensors.get(f"{prefix}bias_hh_l0", torch.zeros(n))
    rnn.load_state_dict({k: torch.as_tensor(v).double() for k, v in state.items()})
    with torch.no_grad():
        h, _ = rnn(torch.as_tensor(inputs, dtype=torch.float64))
    return h.numpy()


def load_torch(
    path: str | Path,
    weight_key: str | None = None,
    inputs: np.ndarray | None = None,
    inputs_path: str | Path | None = None,
    nonlinearity: str = "tanh",
    group_key: str = "group",
) -> Network:
    """One network from a PyTorch checkpoint (module doc); raises :class:`MeasureInputError`.

    Trajectories: from ``<stem>.npz`` beside the checkpoint when it exists, else by running the
    checkpoint's ``torch.nn.RNN`` (``nonlinearity`` tanh or relu, h_0 = 0) on ``inputs``.
    """
    import torch

    path = Path(path)
    if not path.exists():
        raise _fail(path, "no such file")
    _regular(path)
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for bad files
        detail = " ".join(re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).split())
        hint = "; save model.state_dict() rather than the module object" if "weights_only" in detail else ""
        raise _fail(path, f"not a readable PyTorch checkpoint ({type(exc).__name__}: {detail[:200]}){hint}") from exc
    if hasattr(obj, "state_dict") and not isinstance(obj, dict):
        obj = obj.state_dict()
    flat = _flatten(obj) if isinstance(obj, dict) else {}
    tensors = {k: v for k, v in flat.items() if isinstance(v, torch.Tensor)}
    if not tensors:
        raise _fail(path, "holds no tensors (expected a state_dict)")
    if weight_key is None:
        cands = [k for k in tensors if k.endswith("weight_hh_l0")]
        if len(cands) != 1:
            found = "no key ending in 'weight_hh_l0'" if not cands else f"several recurrent weights {cands}"
            raise _fail(
                path, f"{found}; name the recurrent weight with --weight-key (keys: {', '.join(sorted(tensors))})"
            )
        weight_key = cands[0]
    elif weight_key not in tensors:
        raise _fail(path, f"missing key {weight_key!r} (--weight-key); keys present: {', '.join(sorted(tensors))}")
    W = _array(path, {weight_key: tensors[weight_key].detach().double().numpy()}, weight_key, (2,))
    if W.shape[0] != W.shape[1]:
        raise _fail(path, f"recurrent weight {weight_key!r} must be square (n x n), got shape {W.shape}")
    companion = path.with_suffix(".npz")
    data: dict = {}
    if companion.exists():
        data = _read_npz(companion)
        traj = _trajectories(path, data, W.shape[0], companion)
        source = companion
    elif inputs is not None:
        traj = _run_rnn(path, tensors, weight_key, inputs, Path(inputs_path or "inputs"), nonlinearity)
        traj = _array(path, {"trajectories": traj}, "trajectories", (3,))
        source = path
    else:
        raise _fail(path, f"no trajectories: put them in {companion} (key 'trajectories') or pass --inputs inputs.npz")
    ex = _extras(path, data, W, traj, group_key, source)
    return _network(path.stem, str(path), W, traj, ex)


def read_inputs(path: str | Path) -> np.ndarray:
    """The ``inputs`` array (trials, time, n_in) of an inputs ``.npz``."""
    path = Path(path)
    return _array(path, _read_npz(path), "inputs", (3,))


def load_networks(
    items: Sequence[Any],
    fmt: str = "auto",
    weight_key: str | None = None,
    inputs: str | Path | None = None,
    nonlinearity: str = "tanh",
    group_key: str = "group",
) -> list[Network]:
    """Expand and load every network, checked, in the given order.

    ``items``: paths (files, folders, globs), in-memory dicts with the ``.npz`` keys (an optional
    ``name`` key) or :class:`Network` objects. ``group_key``: the key holding each network's
    group label, or ``folder`` (the parent folder's name when the file has no such key). Names
    are file stems, made unique with the parent folder when stems repeat. Raises
    :class:`MeasureInputError` for any bad file and for fewer than 2 networks.
    """
    if nonlinearity not in ("tanh", "relu"):
        raise MeasureInputError(f"unknown nonlinearity {nonlinearity!r}: expected tanh or relu")
    if isinstance(items, (str, Path)):
        items = [items]
    items = list(items)
    taken: list[Path] = [Path(inputs)] if inputs is not None else []
    entries: list[Any] = []
    for item in items:
        if isinstance(item, (Network, dict)):
            entries.append(item)
        else:
            found = expand_inputs([item], fmt, taken)
            taken += found
            entries += found
    if len(entries) < 2:
        listed = ", ".join(map(str, entries)) or "none"
        shown = [str(i) if isinstance(i, (str, Path)) else type(i).__name__ for i in items]
        raise MeasureInputError(f"need at least 2 networks to compare, found {len(entries)} ({listed}) in {shown}")
    x = read_inputs(inputs) if inputs is not None and any(isinstance(e, Path) for e in entries) else None
    nets = []
    for i, e in enumerate(entries):
        if isinstance(e, Network):
            nets.append(e)
            continue
        if isinstance(e, dict):
            nets.append(from_arrays(e, str(e.get("name", f"network{i}")), group_key))
            continue
        suffix = e.suffix.lower()
        if fmt == "npz" or (fmt == "auto" and suffix == ".npz"):
            nets.append(load_npz(e, group_key))
        elif fmt == "torch" or suffix in _TORCH_SUFFIXES:
            nets.append(load_torch(e, weight_key, x, inputs, nonlinearity, group_key))
        else:
            raise _fail(e, f"unknown file type {suffix!r}: expected .npz, .pt or .pth (or pass --format)")
        if group_key == "folder" and nets[-1].group is None:
            nets[-1].group = Path(nets[-1].path).resolve().parent.name
    stems = [n.name for n in nets]
    for n in nets:
        if stems.count(n.name) > 1:
            n.name = f"{Path(n.path).parent.name}/{n.name}"
    names = [n.name for n in nets]
    for i, n in enumerate(nets):
        if names.count(n.name) > 1:
            n.name = f"{n.name}#{i}"
    return nets
