"""Drawing the ensemble members' batches in worker processes, ahead of the training step.

Every member has its own data stream: batch j of member k is what ``task.sample(batch_size, gen_k)``
returns on its j-th call, with ``gen_k`` seeded as in separate training. Drawing 50 such batches one
after the other costs about as much as a GPU ensemble step, so on a GPU the draws move to worker
processes that fill a ring of shared-memory slots a few steps ahead. The streams, and therefore the
trained networks, are exactly those of drawing in the training process. Each slot also carries every
member's generator state after its draw, so the trainer knows the state of each stream at the step it
has reached (:meth:`BatchPrefetcher.generator_state`, for resumable snapshots) and a prefetcher can
start from saved states instead of seeds.
"""

from __future__ import annotations

import multiprocessing as mp
import time
from typing import Any

import torch

_POLL_S = 2e-4


def _generator(seed: int, state: torch.Tensor | None) -> torch.Generator:
    gen = torch.Generator().manual_seed(seed)
    if state is not None:
        gen.set_state(state)
    return gen


def _worker(
    task: Any,
    batch_size: int,
    data_seeds: list[int],
    start_states: list[torch.Tensor | None],
    mine: list[int],
    buffers: list[torch.Tensor],
    gen_states: torch.Tensor,
    produced: Any,
    consumed: Any,
    stop: Any,
    index: int,
) -> None:
    torch.set_num_threads(1)
    gens = {k: _generator(data_seeds[k], start_states[k]) for k in mine}
    depth = buffers[0].shape[0]
    step = 0
    while not stop.is_set():
        if step - consumed.value >= depth:  # the ring is full: wait for the trainer
            time.sleep(_POLL_S)
            continue
        slot = step % depth
        for k in mine:
            for buf, t in zip(buffers, task.sample(batch_size, gens[k])):
                buf[slot, k].copy_(t)
            gen_states[slot, k].copy_(gens[k].get_state())
        step += 1
        produced[index] = step


class BatchPrefetcher:
    """Batches of K members drawn ``depth`` steps ahead by ``workers`` processes (shared memory).

    ``data_seeds[k]`` seeds member k's generator; ``states[k]``, when given and not None, sets it to a
    saved state instead (a resumed run). Each :meth:`next` returns the next step's stacked
    ``(x, y, mask)`` of the listed members, shapes (len(members), batch, time, .), float32 on CPU.
    Use as a context manager, or call :meth:`close`.
    """

    def __init__(
        self,
        task: Any,
        batch_size: int,
        data_seeds: list[int],
        workers: int,
        depth: int = 8,
        states: list[torch.Tensor | None] | None = None,
    ) -> None:
        K = len(data_seeds)
        workers = max(1, min(workers, K))
        states = [None] * K if states is None else list(states)
        probe = task.sample(batch_size, torch.Generator().manual_seed(0))
        self.buffers = [torch.empty((depth, K) + tuple(t.shape), dtype=t.dtype).share_memory_() for t in probe]
        # each stream's state after the draw in a slot, and after the last batch handed out
        self.current = torch.stack([_generator(s, st).get_state() for s, st in zip(data_seeds, states)])
        self.gen_states = torch.empty((depth,) + tuple(self.current.shape), dtype=torch.uint8).share_memory_()
        # fork (as PyTorch's DataLoader does): workers start at once and do not re-run the main script
        # (a Snakemake `script:` has no main guard); they use only CPU tensors, never CUDA
        ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
        self.produced = ctx.Array("q", workers)  # the locks order the buffer writes before the counts
        self.consumed = ctx.Value("q", 0)
        self.stop = ctx.Event()
        self.step, self.depth = 0, depth
        self.procs = [
            ctx.Process(
                target=_worker,
                daemon=True,
                args=(
                    task,
                    batch_size,
                    list(data_seeds),
                    states,
                    list(range(w, K, workers)),
                    self.buffers,
                    self.gen_states,
                    self.produced,
                    self.consumed,
                    self.stop,
                    w,
                ),
            )
            for w in range(workers)
        ]
        for p in self.procs:
            p.start()

    def next(self, members: list[int]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The next step's batches of ``members`` (indices into ``data_seeds``), stacked on axis 0."""
        while min(self.produced[:]) <= self.step:
            if any(not p.is_alive() for p in self.procs):
                raise RuntimeError("a batch-drawing worker process died; see its traceback above")
            time.sleep(_POLL_S)
        slot = self.step % self.depth
        idx = torch.tensor(members, dtype=torch.long)
        out = tuple(buf[slot].index_select(0, idx) for buf in self.buffers)
        self.current[idx] = self.gen_states[slot].index_select(0, idx)
        self.step += 1
        self.consumed.value = self.step
        return out  # type: ignore[return-value]

    def generator_state(self, member: int) -> torch.Tensor:
        """Member ``member``'s generator state after the last batch :meth:`next` handed out for it
        (its start state before any): what ``gen.get_state()`` would give when drawing in-process."""
        return self.current[member].clone()

    def close(self) -> None:
        """Stop and join the workers."""
        self.stop.set()
        for p in self.procs:
            p.join(timeout=5)
            if p.is_alive():
                p.terminate()

    def __enter__(self) -> "BatchPrefetcher":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
