"""picky-sgd's numeric side: models, algorithms, the engine, the claims, the runtime and the CLI.

The public API (:mod:`verify.api`), imported on first use so that ``import verify`` stays cheap::

    verify.simulate(algorithms, *, problem, dim, delays | adversary, eps, sigma, steps, seeds, ...) -> Simulation
    verify.verify(ids=None, profile="quick") -> Verification
    verify.load(DIR) -> Simulation | Verification | SweepResult     # each with .to_frame() (pandas)
"""

__all__ = ["simulate", "verify", "load", "Simulation", "Verification", "SweepResult"]


def __getattr__(name: str) -> object:
    if name in __all__:
        from verify import api

        return getattr(api, name)
    raise AttributeError(f"module 'verify' has no attribute {name!r}")


def __dir__() -> list:
    return sorted(set(globals()) | set(__all__))
