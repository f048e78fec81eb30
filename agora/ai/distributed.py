"""One code path for one CPU, one GPU, and many GPUs and nodes under `torchrun`.

torchrun sets RANK / WORLD_SIZE / LOCAL_RANK; without them this is a world of one and no process
group is made. Collectives here are no-ops in a world of one, so the trainer never branches on it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class World:
    rank: int
    size: int
    local_rank: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1

    def describe(self) -> str:
        if self.device.type == "cuda":
            return f"cuda: {torch.cuda.get_device_name(self.device)}"
        return f"cpu: {torch.get_num_threads()} threads"


def join(device: str = "auto") -> World:
    """Join the torchrun job if there is one (NCCL between GPUs, gloo between CPU processes)."""
    size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = torch.cuda.is_available() if device == "auto" else device == "cuda"
    if use_cuda:
        chosen = torch.device("cuda", local_rank)
        torch.cuda.set_device(chosen)
    else:
        chosen = torch.device("cpu")
    if size > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if use_cuda else "gloo", device_id=chosen if use_cuda else None)
    return World(rank=rank, size=size, local_rank=local_rank, device=chosen)


def leave(world: World) -> None:
    if world.distributed and dist.is_initialized():
        dist.destroy_process_group()


def sum_all(world: World, *values: float) -> list[float]:
    """Sum numbers over every process (losses and token counts for validation)."""
    if not world.distributed:
        return list(values)
    tensor = torch.tensor(values, dtype=torch.float64, device=world.device)
    dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor.tolist()


def any_rank(world: World, flag: bool) -> bool:
    """True on every process when it is true on one (a SIGTERM that reached some ranks only)."""
    return sum_all(world, float(flag))[0] > 0


def from_main(world: World, value: Any) -> Any:
    """The main process's `value`, on every process (the run id, chosen once)."""
    if not world.distributed:
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def barrier(world: World) -> None:
    if world.distributed:
        dist.barrier()
