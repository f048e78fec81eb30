"""Tokens per second and model FLOPs utilisation (MFU: achieved / peak training FLOPs, PaLM app. B)."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import torch

# Dense bf16 tensor-core peaks from the vendors' datasheets, TFLOP/s per GPU.
GPU_PEAK_TFLOPS = {"H200": 989.0, "H100": 989.0, "A100": 312.0, "L40S": 362.0, "L4": 121.0, "A10": 125.0,
                   "4090": 165.0, "3090": 71.0, "V100": 125.0, "T4": 65.0}


def peak_flops(device: torch.device, override_tflops: float | None = None) -> tuple[float | None, str]:
    """The peak FLOP/s of one process's device and where the figure comes from."""
    if override_tflops:
        return override_tflops * 1e12, "given"
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
        for key, tflops in GPU_PEAK_TFLOPS.items():
            if key in name:
                return tflops * 1e12, f"{name} datasheet"
        return None, f"{name}: unknown peak"
    return _cpu_peak()


def _cpu_peak() -> tuple[float | None, str]:
    """Threads × clock × FP32 FLOPs per cycle (two FMA units: 32 with AVX2, 64 with AVX-512): an upper
    bound, so CPU MFU reads low, as it should."""
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return None, "unknown CPU"
    mhz = [float(m) for m in re.findall(r"cpu MHz\s*:\s*([\d.]+)", info)]
    if not mhz:
        return None, "unknown CPU clock"
    per_cycle = 64 if " avx512f" in info else 32 if " avx2" in info else 16
    threads = min(torch.get_num_threads(), os.cpu_count() or 1)
    return threads * max(mhz) * 1e6 * per_cycle, f"CPU estimate: {threads} threads × {max(mhz):.0f} MHz × {per_cycle}"


class Meter:
    """Tokens/s and MFU over the steps since the last reading (not since the start: warm-up and
    validation pauses would otherwise blur what the loop does now)."""

    def __init__(self, flops_per_token: float, peak: float | None, world_size: int) -> None:
        self.flops_per_token = flops_per_token
        self.peak = peak * world_size if peak else None
        self.tokens = 0
        self.started = time.perf_counter()

    def add(self, tokens: int) -> None:
        self.tokens += tokens

    def pause(self, seconds: float) -> None:
        self.started += seconds  # time spent validating or saving is not training time

    def read(self) -> tuple[float, float | None]:
        elapsed = max(time.perf_counter() - self.started, 1e-9)
        rate = self.tokens / elapsed
        mfu = rate * self.flops_per_token / self.peak if self.peak else None
        self.tokens, self.started = 0, time.perf_counter()
        return rate, mfu
