"""Calculator throughput: scalar calls per second (target >= 1e5/s) and vectorised elements per second.

Run: python benchmarks/bench_calculators.py
"""
from __future__ import annotations

import time

import numpy as np

import theory


def rate(fn, n: int) -> float:
    fn()  # warm the lambdify cache
    t = time.perf_counter()
    for _ in range(n):
        fn()
    return n / (time.perf_counter() - t)


def main() -> None:
    n = 200_000
    cases = {
        "iterations picky-explicit": lambda: theory.iterations("picky-explicit", beta=1.0, F=1.0, sigma=0.5, eps=0.1, tau_avg=2.0),
        "iterations picky-explicit-sharp": lambda: theory.iterations("picky-explicit-sharp", beta=1.0, F=1.0, sigma=0.5, eps=0.1, tau_avg=2.0),
        "accuracy picky": lambda: theory.accuracy("picky", T=1e6, beta=1.0, F=1.0, sigma=0.5, tau_avg=2.0),
        "step_size picky-explicit": lambda: theory.step_size("picky-explicit", beta=1.0, sigma=0.5, eps=0.1),
    }
    print(f"{'calculator':34s} {'calls/s':>12s} {'vs target 1e5':>14s}")
    for name, fn in cases.items():
        r = rate(fn, n)
        print(f"{name:34s} {r:12.3g} {r / 1e5:13.2f}x")
    eps = np.linspace(0.01, 1, 1_000_000)
    t = time.perf_counter()
    theory.iterations("picky-explicit", beta=1.0, F=1.0, sigma=0.5, eps=eps, tau_avg=2.0)
    dt = time.perf_counter() - t
    print(f"{'vectorised, 1e6 elements':34s} {1e6 / dt:12.3g} elements/s")


if __name__ == "__main__":
    main()
