"""Unit-variance gradient-noise models: ``sample(rng, n, dim)`` -> ``(n, dim)``, rows i.i.d., mean zero,
``E||row||^2 = 1`` exactly (the simulators multiply by ``sigma``): ``gaussian``, ``bounded``, ``rademacher``,
``student_t:df=...``.  All of them consume the generator element by element in C order, so drawing
``(n, dim)`` at once gives the same rows (and leaves the generator in the same state) as drawing
``(1, dim)`` ``n`` times.

Task-keyed noise (recorded asynchronous runs, and any sequence that carries tasks): the row of task k
in a run with seed s is a deterministic function of (s, k) alone, computed on demand by one compiled
function, :func:`task_row_any` -- the kernel calls it at each step (memory O(d) per lane, flat in T),
the reference loop and the asynchronous workers call it through :meth:`Noise.task_rows`. The stream of
(s, k) is counter-based: its 64-bit words are w_0, w_1, ... with

    (w_{4j}, w_{4j+1}, w_{4j+2}, w_{4j+3}) = Philox4x64-10(counter = (j, k, 0, 0), key = (s, TASK_NOISE_DOMAIN))

(Salmon, Moraes, Dror, Shaw, "Parallel random numbers: as easy as 1, 2, 3", SC 2011; the same
function as numpy's ``Philox`` bit generator and the Random123 library, checked against their
known-answer vectors). A row consumes the words in order; the models' transforms of the words:
symmetric uniforms U = (2 (w >> 11) + 1 - 2^53) 2^-53 in (-1, 1), normals by Marsaglia's polar
method, Rademacher signs from single bits, Student-t by Bailey's polar method -- each exact in law,
so ``E||row||^2 = 1`` exactly as for the generator-driven rows (the task rows are other numbers than
``sample`` draws: another stream). One Gaussian row of d = 100 costs about 2 us
(``benchmarks/bench_task_noise.py``).

Factory :func:`make_noise` (``"student_t:df=3"``), listing :data:`NOISES`; the compiled rows
(:data:`NOISE_KERNELS`, ``draw_any``, ``task_row_any``) are what the kernel and the reference loop call.
"""
from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from theory.validation import check_int, check_real

from verify._jit import jit, switch
from verify.io.jsonsafe import plain_json
from verify.io.specs import format_spec, parse_spec

__all__ = ["Noise", "GaussianNoise", "BoundedNoise", "RademacherNoise", "StudentTNoise", "NOISES", "NOISE_KERNELS",
           "make_noise", "TASK_NOISE_DOMAIN", "TASK_STATE", "draw_any", "task_row_any", "task_stream", "task_words",
           "philox4x64"]

# ----------------------------------------------------------------------------------------------
# noise models
# ----------------------------------------------------------------------------------------------


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
        """Task-keyed noise (recorded asynchronous runs, :mod:`verify.runtime.async_server`): row i is
        task ``tasks[i]``'s row, drawn from the Philox stream keyed by ``(seed, tasks[i])`` (module
        docstring) by the compiled :func:`task_row_any` -- the very function the kernel calls. The noise
        of a gradient depends on the task that computed it, not on the step it arrived at, nor on the
        worker. ``seed`` and every task: integers in [0, 2^63 - 1]. ``(n, dim)``."""
        seed = check_int("seed", seed, 0, _MAX_KEY)
        raw = np.asarray(tasks).reshape(-1)
        if raw.size and raw.dtype.kind not in "iu":
            raise ValueError(f"tasks must be integers in [0, {_MAX_KEY}]; got dtype {raw.dtype}")
        bad = (raw < 0) | (raw > _MAX_KEY)
        if bad.any():
            i = int(np.argmax(bad))
            raise ValueError(f"tasks[{i}] = {raw[i].item()}: a task must be an integer in [0, {_MAX_KEY}]")
        keys = np.ascontiguousarray(raw, dtype=np.int64)
        out = np.empty((keys.size, check_int("dim", dim, 1)))
        code, p = self.kernel(dim)
        _task_rows(code, p, seed, keys, out)
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
def _divide_by_norm(z, s):
    """z / sqrt(s), s = ||z||^2 summed in index order (bounded noise, per-lane and task-keyed: one
    normalisation); an exactly-zero row (probability 0) maps to e_1."""
    nrm = math.sqrt(s)
    if nrm == 0.0:  # pragma: no cover - probability ~ 0
        z[:] = 0.0
        z[0] = 1.0
        return
    for k in range(z.size):
        z[k] /= nrm


@jit(inline="always")
def _bounded_row(p, rng, z):
    """A standard normal row divided by its norm (an exactly-zero row, probability 0, maps to e_1)."""
    s = 0.0
    for k in range(z.size):
        v = rng.standard_normal()
        z[k] = v
        s += v * v
    _divide_by_norm(z, s)


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


# ----------------------------------------------------------------------------------------------
# task-keyed noise: a counter-based stream (Philox4x64-10) keyed by (seed, task), drawn on demand
# ----------------------------------------------------------------------------------------------

#: the second key word of every task stream ("task" in ASCII): keeps the task streams apart from any
#: other Philox use keyed by the seed alone
TASK_NOISE_DOMAIN = 0x7461736B
#: seeds and tasks are integers in [0, 2^63 - 1] (one 64-bit key or counter word each)
_MAX_KEY = 2**63 - 1
#: length of a stream's state vector (uint64): key (2), task, next block j, the block's 4 words, position
TASK_STATE = 9

_S11 = np.uint64(11)
_ONE = np.uint64(1)
_PHILOX_M0 = np.uint64(0xD2E7470EE14C6C93)  # Random123's Philox4x64 multipliers
_PHILOX_M1 = np.uint64(0xCA5A826395121157)
_PHILOX_W0 = np.uint64(0x9E3779B97F4A7C15)  # its Weyl key increments (golden ratio, sqrt(3) - 1)
_PHILOX_W1 = np.uint64(0xBB67AE8584CAA73B)
_TWO_M53 = 2.0**-53


@intrinsic
def _mulhilo64(typingctx, a, b):
    """(hi, lo): the 64-bit halves of the exact 128-bit product a b of two uint64 (LLVM's i128
    multiply: one ``mul``/``umulh`` pair on x86-64 and arm64; compiled code only)."""
    sig = types.UniTuple(types.uint64, 2)(types.uint64, types.uint64)

    def codegen(context, builder, signature, args):
        i128, i64 = ir.IntType(128), ir.IntType(64)
        prod = builder.mul(builder.zext(args[0], i128), builder.zext(args[1], i128))
        hi = builder.trunc(builder.lshr(prod, ir.Constant(i128, 64)), i64)
        return context.make_tuple(builder, signature.return_type, [hi, builder.trunc(prod, i64)])

    return sig, codegen


@jit(inline="always")
def philox4x64(c0, c1, c2, c3, k0, k1):
    """Philox4x64-10 (Salmon et al. 2011; Random123's ``philox4x64_R(10, ...)``, numpy's ``Philox``):
    the 4 uint64 words of block ``counter = (c0, c1, c2, c3)`` under ``key = (k0, k1)``. A round:
    (h0, l0) = M0 c0, (h1, l1) = M1 c2 (128-bit products), c <- (h1 ^ c1 ^ k0, l1, h0 ^ c3 ^ k1, l0);
    the key is bumped by (W0, W1) between rounds (mod 2^64). All arguments uint64."""
    for r in range(10):
        if r > 0:
            k0 += _PHILOX_W0
            k1 += _PHILOX_W1
        h0, l0 = _mulhilo64(_PHILOX_M0, c0)
        h1, l1 = _mulhilo64(_PHILOX_M1, c2)
        c0, c1, c2, c3 = h1 ^ c1 ^ k0, l1, h0 ^ c3 ^ k1, l0
    return c0, c1, c2, c3


@jit(inline="always")
def task_stream(st, seed, task):
    """Start the stream of ``(seed, task)`` in the state vector ``st`` (uint64, length TASK_STATE):
    key = (seed, TASK_NOISE_DOMAIN), block counter (j, task, 0, 0) from j = 0, no buffered word."""
    st[0] = np.uint64(seed)
    st[1] = np.uint64(TASK_NOISE_DOMAIN)
    st[2] = np.uint64(task)
    st[3] = np.uint64(0)
    st[8] = np.uint64(4)


@jit(inline="always")
def _next_word(st):
    """The stream's next 64-bit word w_n: word n % 4 of block j = n // 4."""
    pos = st[8]
    if pos >= 4:
        r0, r1, r2, r3 = philox4x64(st[3], st[2], np.uint64(0), np.uint64(0), st[0], st[1])
        st[4] = r0
        st[5] = r1
        st[6] = r2
        st[7] = r3
        st[3] += _ONE
        pos = np.uint64(0)
    st[8] = pos + _ONE
    return st[4 + pos]


@jit(inline="always")
def _symmetric_uniform(st):
    """U uniform on the 2^53 odd multiples of 2^-53 in (-1, 1), from one word w:
    (2 (w >> 11) + 1 - 2^53) 2^-53 -- symmetric about 0 (so exactly mean zero) and never 0."""
    m = np.int64(_next_word(st) >> _S11)
    return float(2 * m + 1 - 9007199254740992) * _TWO_M53


@jit(inline="always")
def _normal_pair(st):
    """Two independent N(0, 1) by Marsaglia's polar method: symmetric uniforms (u, v) until
    s = u^2 + v^2 < 1 (accepted with probability pi/4; s > 0 always), then m = sqrt(-2 ln s / s) and
    (u m, v m) -- exact: (u, v) is uniform on the disc, s ~ U(0, 1) independent of the angle."""
    while True:
        u = _symmetric_uniform(st)
        v = _symmetric_uniform(st)
        s = u * u + v * v
        if s < 1.0:
            break
    m = math.sqrt(-2.0 * math.log(s) / s)
    return u * m, v * m


@jit(inline="always")
def _standard_normal_task_row(st, z):
    """z_k ~ N(0, 1) i.i.d.: polar pairs (z_0, z_1), (z_2, z_3), ...; an odd last pair drops its second."""
    d = z.size
    k = 0
    while k < d:
        a, b = _normal_pair(st)
        z[k] = a
        if k + 1 < d:
            z[k + 1] = b
        k += 2


@jit(inline="always")
def _gaussian_task_row(p, st, z):
    """N(0, I/dim): standard normals times p[0] = 1/sqrt(dim)."""
    _standard_normal_task_row(st, z)
    for k in range(z.size):
        z[k] *= p[0]


@jit(inline="always")
def _bounded_task_row(p, st, z):
    """A standard normal row divided by its norm: uniform on the sphere (a zero row, probability 0, maps to e_1)."""
    _standard_normal_task_row(st, z)
    s = 0.0
    for k in range(z.size):
        s += z[k] * z[k]
    _divide_by_norm(z, s)


@jit(inline="always")
def _rademacher_task_row(p, st, z):
    """+-p[0] = 1/sqrt(dim): the sign of z_k is bit k % 64 of word k // 64 (1: +, 0: -; P = 1/2 exactly)."""
    w = np.uint64(0)
    for k in range(z.size):
        if k % 64 == 0:
            w = _next_word(st)
        z[k] = p[0] if (w >> np.uint64(k % 64)) & _ONE else -p[0]


@jit(inline="always")
def _student_t_task_row(p, st, z):
    """Student-t(df = p[0]) entries times p[1] = sqrt((df - 2)/df)/sqrt(dim), by Bailey's polar method
    (Math. Comp. 62 (1994) 779-781): draw (U, V) symmetric uniforms until W = U^2 + V^2 <= 1 (accepted
    with probability pi/4), then T = U sqrt(df (W^(-2/df) - 1) / W) ~ t_df exactly. (U, V) is uniform
    on the disc, so W ~ U(0, 1) and U/sqrt(W) = cos(theta) are independent.)"""
    df = p[0]
    for k in range(z.size):
        while True:
            u = _symmetric_uniform(st)
            v = _symmetric_uniform(st)
            w = u * u + v * v
            if w <= 1.0:
                break
        z[k] = u * math.sqrt(df * (math.pow(w, -2.0 / df) - 1.0) / w) * p[1]


#: the compiled noise models, indexed by ``Noise.kernel(dim)[0]``: (name, row(p, rng, z) from a
#: generator, task_row(p, st, z) from a task stream)
NOISE_KERNELS: tuple[tuple[str, Callable, Callable], ...] = (
    ("gaussian", _gaussian_row, _gaussian_task_row),
    ("bounded", _bounded_row, _bounded_task_row),
    ("rademacher", _rademacher_row, _rademacher_task_row),
    ("student_t", _student_t_row, _student_t_task_row),
)
GAUSSIAN, BOUNDED, RADEMACHER, STUDENT_T = range(len(NOISE_KERNELS))
#: draw_any(code, p, rng, z): the dispatch over NOISE_KERNELS
draw_any = switch("draw_any", [k[1] for k in NOISE_KERNELS], "p, rng, z", "None")
_task_row_code = switch("_task_row_code", [k[2] for k in NOISE_KERNELS], "p, st, z", "None")


@jit(inline="always")
def task_row_any(code, p, st, seed, task, z):
    """Task ``task``'s noise row z (shape (dim,)) in a run with seed ``seed``: the stream of
    (seed, task) started in ``st`` (uint64, length TASK_STATE, scratch) and read by model ``code``'s
    transform. The one implementation: the kernel inlines it, :meth:`Noise.task_rows` calls it."""
    task_stream(st, seed, task)
    _task_row_code(code, p, st, z)


@jit
def _task_rows(code, p, seed, tasks, out):
    st = np.empty(TASK_STATE, np.uint64)
    for r in range(out.shape[0]):
        task_row_any(code, p, st, seed, tasks[r], out[r])


@jit
def _task_words(seed, task, n, out):
    st = np.empty(TASK_STATE, np.uint64)
    task_stream(st, seed, task)
    for i in range(n):
        out[i] = _next_word(st)


def task_words(seed: int, task: int, n: int) -> np.ndarray:
    """The first ``n`` 64-bit words w_0..w_{n-1} of the stream of ``(seed, task)`` (uint64), as the
    rows read them (for tests and for anyone re-deriving a row by hand)."""
    seed = check_int("seed", seed, 0, _MAX_KEY)
    task = check_int("task", task, 0, _MAX_KEY)
    out = np.empty(check_int("n", n, 0), np.uint64)
    _task_words(seed, task, out.size, out)
    return out


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
