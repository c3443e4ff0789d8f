"""Unit-variance gradient-noise models: ``sample(rng, n, dim)`` -> ``(n, dim)``, rows i.i.d., mean zero,
``E||row||^2 = 1`` exactly (the simulators multiply by ``sigma``): ``gaussian``, ``bounded``, ``rademacher``,
``student_t:df=...``.  All of them consume the generator element by element in C order, so drawing
``(n, dim)`` at once gives the same rows (and leaves the generator in the same state) as drawing
``(1, dim)`` ``n`` times.  Task-keyed noise (recorded asynchronous runs): :func:`task_generator`.

Factory :func:`make_noise` (``"student_t:df=3"``), listing :data:`NOISES`; the compiled rows
(:data:`NOISE_KERNELS`, ``draw_any``) are what the kernel and the reference loop call.
"""
from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from theory.validation import check_int, check_real

from verify._jit import jit, switch
from verify.io.jsonsafe import plain_json
from verify.io.specs import format_spec, parse_spec

__all__ = ["Noise", "GaussianNoise", "BoundedNoise", "RademacherNoise", "StudentTNoise", "NOISES", "NOISE_KERNELS",
           "make_noise", "task_generator", "TASK_NOISE_DOMAIN", "draw_any"]

# ----------------------------------------------------------------------------------------------
# noise models
# ----------------------------------------------------------------------------------------------


#: the SeedSequence spawn-key domain of task-keyed noise ("task" in ASCII): keeps it independent of
#: a lane's own stream default_rng(seed) and of per-seed delay draws (verify.models.delays.draw_seed)
TASK_NOISE_DOMAIN = 0x7461736B


def task_generator(seed: int, task: int) -> np.random.Generator:
    """The generator of task ``task``'s noise in a run with seed ``seed``:
    ``default_rng(SeedSequence(seed, spawn_key=(TASK_NOISE_DOMAIN, task)))``."""
    return np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(TASK_NOISE_DOMAIN, int(task))))


class Noise:
    """A unit-variance noise model: rows i.i.d., mean zero, ``E||row||^2 = 1`` exactly.

    ``sample(rng, n, dim, out=None)`` returns an ``(n, dim)`` array; it is a deterministic
    function of the generator state and consumes the generator element by element in C order,
    so one ``(n, dim)`` draw equals ``n`` successive ``(1, dim)`` draws (``streaming = True``).
    """

    name: str = "noise"
    bounded: bool = False
    streaming: bool = True

    def sample(self, rng: np.random.Generator, n: int, dim: int, out: np.ndarray | None = None) -> np.ndarray:
        """``n`` rows of the model (``(n, dim)``), drawn by the compiled row function (see
        :data:`NOISE_KERNELS`), row after row from ``rng``."""
        n, dim = self._check(rng, n, dim, out)
        out = np.empty((n, dim)) if out is None else out
        code, p = self.kernel(dim)
        _noise_rows(code, p, rng, out)
        return out

    def task_rows(self, seed: int, tasks: Any, dim: int) -> np.ndarray:
        """Task-keyed noise (recorded asynchronous runs, :mod:`verify.runtime.async_server`): row i is the one
        row ``sample(task_generator(seed, tasks[i]), 1, dim)``, so the noise of a gradient depends on
        the task that computed it -- not on the step it arrived at, nor on the worker. ``(n, dim)``."""
        tasks = np.asarray(tasks, dtype=np.int64).reshape(-1)
        out = np.empty((tasks.size, check_int("dim", dim, 1)))
        for i, k in enumerate(tasks.tolist()):
            self.sample(task_generator(seed, k), 1, dim, out=out[i : i + 1])
        return out

    def kernel(self, dim: int) -> tuple[int, np.ndarray]:  # pragma: no cover - abstract
        """``(code, params)`` of the compiled row function for rows of length ``dim``."""
        raise NotImplementedError

    @property
    def params(self) -> dict[str, Any]:
        return {}

    @property
    def spec(self) -> str:
        return format_spec(self.name, self.params)

    @property
    def bound(self) -> float | None:
        """``sup ||row||`` if the model is bounded, else None."""
        return None

    def describe(self) -> dict:
        return {
            "name": self.name,
            "spec": self.spec,
            "parameters": {k: plain_json(v) for k, v in self.params.items()},
            "mean": 0.0,
            "variance": 1.0,
            "variance_exact": True,
            "bounded": bool(self.bounded),
            "bound": self.bound,
            "streaming": bool(self.streaming),
            "description": (self.__doc__ or "").strip().splitlines()[0],
        }

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.spec!r}>"

    @staticmethod
    def _check(rng: Any, n: Any, dim: Any, out: np.ndarray | None) -> tuple[int, int]:
        if not isinstance(rng, np.random.Generator):
            raise ValueError(f"rng must be a numpy.random.Generator; got {type(rng).__name__}")
        n = check_int("n", n, 0, integral_floats=True)
        dim = check_int("dim", dim, 1, integral_floats=True)
        if out is not None and (
            not isinstance(out, np.ndarray) or out.shape != (n, dim) or out.dtype != np.float64
            or not out.flags.c_contiguous
        ):
            raise ValueError(f"out must be a C-contiguous float64 array of shape ({n}, {dim})")
        return n, dim


class GaussianNoise(Noise):
    """Gaussian N(0, I/dim): ``E||row||^2 = 1``; unbounded, light-tailed."""

    name = "gaussian"

    def kernel(self, dim: int) -> tuple[int, np.ndarray]:
        return GAUSSIAN, np.array([1.0 / math.sqrt(dim)])


class _UnitNormNoise(Noise):
    """Noise whose rows all have norm exactly 1 (bounded, with bound 1)."""

    bounded = True

    @property
    def bound(self) -> float:
        return 1.0


class BoundedNoise(_UnitNormNoise):
    """Uniform on the unit sphere: ``||row|| = 1`` always (bounded, hence also unit variance).

    Drawn as a normalised standard Gaussian row.  A row whose Gaussian draw is exactly zero
    (possible only in principle: every coordinate would have to be exactly 0.0) is mapped to
    ``e_1``; this keeps ``||row|| = 1`` and the streaming property.
    """

    name = "bounded"

    def kernel(self, dim: int) -> tuple[int, np.ndarray]:
        return BOUNDED, np.zeros(1)


class RademacherNoise(_UnitNormNoise):
    """Rademacher: entries i.i.d. +-1/sqrt(dim) with probability 1/2 each; ``||row|| = 1``.

    Signs come from ``rng.random()`` (53-bit uniforms k 2^-53): ``u < 1/2`` has probability
    exactly 1/2, so the mean is exactly zero.
    """

    name = "rademacher"

    def kernel(self, dim: int) -> tuple[int, np.ndarray]:
        return RADEMACHER, np.array([1.0 / math.sqrt(dim)])


class StudentTNoise(Noise):
    """Heavy-tailed Student-t: entries ``standard_t(df) * sqrt((df-2)/df) / sqrt(dim)``, df > 2.

    ``Var t_df = df/(df-2)``, so each entry has variance exactly ``1/dim`` and
    ``E||row||^2 = 1``.  Moments of order >= df are infinite (for df <= 4 the variance of
    ``||row||^2`` is infinite).  ``out`` is accepted but the draw is made into a temporary first
    (numpy's ``standard_t`` has no ``out``).
    """

    name = "student_t"

    def __init__(self, df: float = 3.0) -> None:
        self.df = check_real("df", df, 2.0, math.inf)
        self._c = math.sqrt((self.df - 2.0) / self.df)

    @property
    def params(self) -> dict[str, Any]:
        return {"df": self.df}

    def kernel(self, dim: int) -> tuple[int, np.ndarray]:
        return STUDENT_T, np.array([self.df, self._c / math.sqrt(dim)])

    def describe(self) -> dict:
        d = super().describe()
        d["finite_moments_below"] = self.df
        return d


# compiled forms: one row z (shape (dim,)) drawn from the generator, element by element in order
@jit(inline="always")
def _gaussian_row(p, rng, z):
    """N(0, I/dim): standard normals times p[0] = 1/sqrt(dim) (numpy's own stream)."""
    for k in range(z.size):
        z[k] = rng.standard_normal() * p[0]


@jit(inline="always")
def _bounded_row(p, rng, z):
    """A standard normal row divided by its norm (an exactly-zero row, probability 0, maps to e_1)."""
    s = 0.0
    for k in range(z.size):
        v = rng.standard_normal()
        z[k] = v
        s += v * v
    nrm = math.sqrt(s)
    if nrm == 0.0:  # pragma: no cover - probability ~ 0
        z[:] = 0.0
        z[0] = 1.0
        return
    for k in range(z.size):
        z[k] /= nrm


@jit(inline="always")
def _rademacher_row(p, rng, z):
    """+-p[0] = 1/sqrt(dim), the sign from a 53-bit uniform u: u >= 1/2 -> +, else - (P = 1/2 exactly)."""
    for k in range(z.size):
        z[k] = p[0] if rng.random() >= 0.5 else -p[0]


@jit(inline="always")
def _student_t_row(p, rng, z):
    """standard_t(df = p[0]) times p[1] = sqrt((df - 2)/df)/sqrt(dim)."""
    for k in range(z.size):
        z[k] = rng.standard_t(p[0]) * p[1]


#: the compiled noise models, indexed by ``Noise.kernel(dim)[0]``: (name, row(p, rng, z))
NOISE_KERNELS: tuple[tuple[str, Callable], ...] = (
    ("gaussian", _gaussian_row),
    ("bounded", _bounded_row),
    ("rademacher", _rademacher_row),
    ("student_t", _student_t_row),
)
GAUSSIAN, BOUNDED, RADEMACHER, STUDENT_T = range(len(NOISE_KERNELS))
#: draw_any(code, p, rng, z): the dispatch over NOISE_KERNELS
draw_any = switch("draw_any", [k[1] for k in NOISE_KERNELS], "p, rng, z", "None")


@jit
def _noise_rows(code, p, rng, out):
    for r in range(out.shape[0]):
        draw_any(code, p, rng, out[r])


NOISES: dict[str, dict[str, Any]] = {
    "gaussian": {"description": "N(0, I/dim)", "defaults": {}, "parameters": {}},
    "bounded": {"description": "uniform on the unit sphere (||row|| = 1)", "defaults": {}, "parameters": {}},
    "rademacher": {"description": "entries +-1/sqrt(dim)", "defaults": {}, "parameters": {}},
    "student_t": {
        "description": "Student-t entries scaled to unit variance (heavy-tailed)",
        "defaults": {"df": 3.0},
        "parameters": {"df": "degrees of freedom, > 2"},
    },
}

_NOISE_CLASSES: dict[str, Callable[..., Noise]] = {
    "gaussian": GaussianNoise,
    "bounded": BoundedNoise,
    "rademacher": RademacherNoise,
    "student_t": StudentTNoise,
}


def make_noise(spec: str, **overrides: Any) -> Noise:
    """Build a noise model: ``"gaussian"``, ``"bounded"``, ``"rademacher"``, ``"student_t:df=3"``."""
    name, params = parse_spec(spec)
    if name not in _NOISE_CLASSES:
        raise ValueError(f"noise name must be one of {sorted(_NOISE_CLASSES)}; got {name!r}")
    params.update(overrides)
    allowed = set(NOISES[name]["parameters"])
    for key in params:
        if key not in allowed:
            raise ValueError(
                f"parameter {key!r} is not accepted by noise {name!r}; allowed: {sorted(allowed) or 'none'}"
            )
    return _NOISE_CLASSES[name](**params)
