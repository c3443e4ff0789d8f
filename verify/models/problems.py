"""Test problems with known constants (the noise models are in :mod:`verify.models.noise`).

The bounds of Cohen, Daniely, Drori, Koren, Schain ("Asynchronous Stochastic Optimization Robust
to Arbitrary Delays", NeurIPS 2021) are stated in terms of

* ``beta``  -- smoothness: ``||grad f(x) - grad f(y)|| <= beta ||x - y||`` (Euclidean norm),
* ``F``     -- initial gap ``f(x_1) - inf f``,
* ``sigma`` -- noise level: ``E||g(x; z) - grad f(x)||^2 <= sigma^2``,
* ``eps``   -- target ``||grad f(x)|| <= eps``.

To compare simulations with the bounds these constants must be known.  Every problem here carries
``beta`` and ``f_inf`` together with a flag saying whether the value is EXACT or only a bound in the
safe direction (an upper bound on ``beta``; a lower bound on ``inf f``, hence an upper bound on
``F``).  A bound keeps the theorems valid, but must never be reported as exact.

Problems (any dimension ``dim >= 1``; everything is vectorised over leading axes ``(..., dim)``):

=============  =====================================  ==============================  ==============
problem        f(x)                                    beta                            inf f
=============  =====================================  ==============================  ==============
``Quadratic``  1/2 sum_i lambda_i y_i^2, y = Q^T x      max lambda_i        (exact)     0   (exact)
``LogSum``     sum_i log(1 + x_i^2 / a^2)               2 / a^2             (exact)     0   (exact)
``Chain``      (L lam^2/152) f_T(x / lam)              L (paper: 152 for f_T; bound)   exact, see below
=============  =====================================  ==============================  ==============

Factory: :func:`make` (``"quadratic:spectrum=geometric,mu=0.001"``, ``"logsum"``,
``"chain:L=1,lam=1"``); listing :data:`PROBLEMS`.  Bad names or parameters raise ``ValueError`` naming the parameter, the value
and the allowed range.

Hot-loop notes: ``grad(X, out=out)`` writes into ``out`` (which may be ``X`` itself) and returns
it; ``Quadratic`` and ``LogSum`` then allocate nothing, ``Chain`` allocates a handful of
temporaries of the size of ``X``.  Objects are immutable after construction and hold no mutable
scratch state, so they are safe to share between threads.
"""
from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from theory.validation import check_bool, check_int, check_real
from theory.validation import is_number

from verify._jit import jit, switch
from verify.io.jsonsafe import plain_json
from verify.io.specs import _bare, format_spec, parse_spec

__all__ = [
    "Problem",
    "Quadratic",
    "LogSum",
    "Chain",
    "PROBLEMS",
    "make",
    "parse_spec",
]

# ----------------------------------------------------------------------------------------------
# spec parsing
# ----------------------------------------------------------------------------------------------


# ----------------------------------------------------------------------------------------------
# Problem base class
# ----------------------------------------------------------------------------------------------


class Problem:
    """A smooth objective with known constants.  Immutable after construction.

    Attributes
    ----------
    name : str              registry name (``"quadratic"``, ``"logsum"``, ``"chain"``)
    dim : int               dimension
    beta : float            smoothness constant used by the theory
    beta_exact : bool       True iff ``beta`` is the exact Lipschitz constant of ``grad f``
    f_inf : float           ``inf f`` (or a lower bound on it)
    f_inf_exact : bool      True iff ``f_inf`` is exactly ``inf f``
    x1 : ndarray            default starting point, shape ``(dim,)`` (read-only)
    params : dict           the constructor parameters (JSON-serialisable)
    spec : str              a spec string such that ``make(spec, dim)`` rebuilds the problem
                            (except for a custom ``x1``)
    """

    name: str = "problem"
    convex: bool = False
    beta_source: str = ""
    f_inf_source: str = ""

    # set by subclasses' __init__ through _finish()
    dim: int
    beta: float
    beta_exact: bool
    f_inf: float
    f_inf_exact: bool
    x1: np.ndarray
    params: dict[str, Any]

    _frozen = False

    def __setattr__(self, key: str, value: Any) -> None:
        if self._frozen:
            raise AttributeError(f"{type(self).__name__} is immutable; cannot set {key!r}")
        object.__setattr__(self, key, value)

    def _finish(self, x1: Any, default_x1: np.ndarray, custom_x1: bool) -> None:
        if custom_x1:
            arr = np.array(x1, dtype=np.float64)
            if arr.shape != (self.dim,) or not np.all(np.isfinite(arr)):
                raise ValueError(
                    f"x1 must be a finite array of shape ({self.dim},); got shape {arr.shape}"
                    + ("" if arr.shape != (self.dim,) else " with non-finite entries")
                )
        else:
            arr = np.array(default_x1, dtype=np.float64)
        arr.setflags(write=False)
        self.x1 = arr
        self._custom_x1 = custom_x1
        code, kp = self._kernel()
        kp = np.ascontiguousarray(kp, dtype=np.float64)
        kp.setflags(write=False)
        self._code, self._kp = int(code), kp
        self._frozen = True

    # -- interface -----------------------------------------------------------------------------
    # f and grad are the compiled row functions of the subclass (see "compiled forms" below),
    # applied row by row: the same code, and so the same bits, as in the reference loop and the
    # compiled engine, whatever the batch shape.
    def f(self, X: Any) -> np.ndarray:
        """f at each row of ``X`` (shape ``(..., dim)`` -> ``(...)``)."""
        X = self._as_x(X)
        X2 = np.ascontiguousarray(X.reshape(-1, self.dim))
        out = np.empty(X2.shape[0])
        _f_rows(self._code, self._kp, X2, out)
        return out[0] if X.ndim == 1 else out.reshape(X.shape[:-1])

    def grad(self, X: Any, out: np.ndarray | None = None) -> np.ndarray:
        """grad f at each row of ``X``; written into ``out`` if given (``out`` may be ``X``)."""
        X = self._as_x(X)
        out = self._as_out(X, out)
        X2 = np.ascontiguousarray(X.reshape(-1, self.dim))
        direct = out.flags.c_contiguous
        O2 = out.reshape(-1, self.dim) if direct else np.empty_like(X2)
        _grad_rows(self._code, self._kp, X2, O2)  # row by row through a scratch row: aliasing is safe
        if not direct:
            out[...] = O2.reshape(out.shape)
        return out

    @property
    def kernel(self) -> tuple[int, np.ndarray]:
        """``(code, params)`` for the compiled engine: ``code`` indexes :data:`KERNELS`, ``params``
        is the flat float64 parameter vector that the row functions read (read-only)."""
        return self._code, self._kp

    def _kernel(self) -> tuple[int, np.ndarray]:  # pragma: no cover - abstract
        raise NotImplementedError

    def hessian(self, X: Any) -> np.ndarray:  # pragma: no cover - abstract
        """Exact Hessian, ``(..., dim)`` -> ``(..., dim, dim)`` (for verification, not hot loops)."""
        raise NotImplementedError

    def grad_norm(self, X: Any) -> np.ndarray:
        """Exact Euclidean norm of the gradient, shape ``(...)``."""
        g = self.grad(X)
        return np.sqrt(np.einsum("...i,...i->...", g, g))

    @property
    def F(self) -> float:
        """``f(x1) - f_inf``: exact if ``f_inf_exact``, otherwise an upper bound on the gap."""
        return float(self.f(self.x1)) - self.f_inf

    @property
    def F_exact(self) -> bool:
        return bool(self.f_inf_exact)

    @property
    def spec(self) -> str:
        return format_spec(self.name, {k: v for k, v in self.params.items()})

    def describe(self) -> dict:
        """JSON-serialisable summary of the problem and its constants."""
        d = {
            "name": self.name,
            "spec": self.spec,
            "dim": int(self.dim),
            "parameters": {k: plain_json(v) for k, v in self.params.items()},
            "convex": bool(self.convex),
            "beta": float(self.beta),
            "beta_exact": bool(self.beta_exact),
            "beta_source": self.beta_source,
            "f_inf": float(self.f_inf),
            "f_inf_exact": bool(self.f_inf_exact),
            "f_inf_source": self.f_inf_source,
            "f_x1": float(self.f(self.x1)),
            "F": float(self.F),
            "F_exact": bool(self.F_exact),
            "x1_custom": bool(self._custom_x1),
        }
        if self._custom_x1:
            d["x1"] = [float(v) for v in self.x1]
        d.update(self._extra_description())
        return d

    def _extra_description(self) -> dict:
        return {}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.spec!r} dim={self.dim}>"

    # -- helpers -------------------------------------------------------------------------------
    def _as_x(self, X: Any) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim == 0 or X.shape[-1] != self.dim:
            raise ValueError(f"X must have shape (..., {self.dim}); got shape {X.shape}")
        return X

    def _as_out(self, X: np.ndarray, out: np.ndarray | None) -> np.ndarray:
        if out is None:
            return np.empty_like(X)
        if not isinstance(out, np.ndarray) or out.shape != X.shape or out.dtype != np.float64:
            raise ValueError(
                f"out must be a float64 array of shape {X.shape}; got "
                f"{getattr(out, 'dtype', type(out).__name__)} of shape {getattr(out, 'shape', None)}"
            )
        return out


# ----------------------------------------------------------------------------------------------
# 1. Quadratic
# ----------------------------------------------------------------------------------------------

_SPECTRUM_FAMILIES = ("linear", "geometric", "constant")


class Quadratic(Problem):
    """``f(x) = 1/2 sum_i lambda_i y_i^2`` with ``y = Q^T x`` (``Q = I`` unless ``rotate``).

    Parameters
    ----------
    dim : int >= 1
    spectrum : ``"linear"`` | ``"geometric"`` | ``"constant"`` | array of ``dim`` eigenvalues >= 0
        Named families run from ``mu`` (smallest) to ``L`` (largest), evenly spaced (linear) or
        log-spaced (geometric); ``"constant"`` is ``L * ones``.  For ``dim == 1`` every family is
        ``[L]``.  An explicit array must be finite, >= 0, with a positive maximum.  In a spec
        string write it as ``spectrum=1;0.5;0.25``.
    mu : float in (0, L], default 0.01 (named families only)
    L : float > 0, default 1.0 (named families only)
    scale : finite real, default 1.0 -- default start ``x1 = scale * ones(dim)``
    rotate : bool, default False -- use a random orthogonal ``Q`` (Haar, from ``seed``)
    seed : int >= 0, default 0 -- seed of ``Q``
    x1 : optional custom starting point

    Constants (PRIMARY, elementary): the Hessian is the constant matrix
    ``A = Q diag(lambda) Q^T``, so ``grad f`` is Lipschitz with constant exactly
    ``||A||_2 = max lambda_i`` (attained by any pair differing along the top eigenvector);
    ``inf f = 0`` attained at ``x = 0``.  Both exact.
    """

    name = "quadratic"
    convex = True
    beta_source = "exact: max eigenvalue of the constant Hessian Q diag(lambda) Q^T"
    f_inf_source = "exact: f >= 0 with f(0) = 0"

    def __init__(
        self,
        dim: int,
        spectrum: Any = "linear",
        mu: float | None = None,
        L: float | None = None,
        scale: float = 1.0,
        rotate: bool = False,
        seed: int = 0,
        x1: Any = None,
    ) -> None:
        dim = check_int("dim", dim, 1, integral_floats=True)
        self.dim = dim
        params: dict[str, Any] = {}
        if isinstance(spectrum, str) and spectrum.strip().lower() in _SPECTRUM_FAMILIES:
            family = spectrum.strip().lower()
            Lv = 1.0 if L is None else check_real("L", L, 0.0, math.inf)
            if family == "constant":
                if mu is not None:
                    raise ValueError(f"mu must not be given with spectrum='constant'; got mu={mu!r}")
                lam = np.full(dim, Lv)
                params.update(spectrum=family, L=Lv)
            else:
                if mu is None and Lv < 0.01:
                    raise ValueError(f"mu must be a finite real in (0, {Lv:g}]; got the default 0.01 (pass mu <= L)")
                muv = check_real("mu", 0.01 if mu is None else mu, 0.0, Lv, low_open=True, high_open=False)
                if dim == 1:
                    lam = np.array([Lv])
                else:
                    lam = (np.linspace if family == "linear" else np.geomspace)(muv, Lv, dim)
                    lam[0], lam[-1] = muv, Lv  # endpoints exact
                params.update(spectrum=family, mu=muv, L=Lv)
        else:
            if mu is not None or L is not None:
                raise ValueError(
                    "mu and L must not be given with an explicit spectrum (they only shape the "
                    f"named families {_SPECTRUM_FAMILIES}); got mu={mu!r}, L={L!r}"
                )
            if isinstance(spectrum, str):
                if ";" not in spectrum and isinstance(_bare(spectrum), str):
                    raise ValueError(
                        f"spectrum must be one of {_SPECTRUM_FAMILIES} or an array of {dim} "
                        f"eigenvalues >= 0 (in a spec: '1;0.5;...'); got {spectrum!r}"
                    )
                try:
                    lam = np.array([float(t) for t in spectrum.split(";")], dtype=np.float64)
                except ValueError:
                    raise ValueError(
                        f"spectrum must be one of {_SPECTRUM_FAMILIES} or ';'-separated numbers; "
                        f"got {spectrum!r}"
                    ) from None
            elif is_number(spectrum):
                lam = np.array([float(spectrum)])
            else:
                try:
                    lam = np.array(spectrum, dtype=np.float64).ravel()
                except (TypeError, ValueError):
                    raise ValueError(
                        f"spectrum must be one of {_SPECTRUM_FAMILIES} or an array of {dim} "
                        f"eigenvalues >= 0; got {spectrum!r}"
                    ) from None
            if lam.shape != (dim,):
                raise ValueError(f"spectrum must have length dim={dim}; got length {lam.size}")
            bad = ~np.isfinite(lam) | (lam < 0)
            if bad.any():
                i = int(np.argmax(bad))
                raise ValueError(
                    f"spectrum entries must be finite reals in [0, inf); got {float(lam[i])!r} at index {i}"
                )
            if not lam.max() > 0:
                raise ValueError("spectrum must have a positive maximum (beta > 0); got all zeros")
            params.update(spectrum=[float(v) for v in lam])
        scale = check_real("scale", scale)
        rotate = check_bool("rotate", rotate)
        seed = check_int("seed", seed, 0, integral_floats=True)
        params.update(scale=scale, rotate=rotate)
        if rotate:
            params["seed"] = seed
        lam = np.ascontiguousarray(lam, dtype=np.float64)
        lam.setflags(write=False)
        self.lam = lam
        if rotate:
            g = np.random.default_rng(seed).standard_normal((dim, dim))
            q, r = np.linalg.qr(g)
            q *= np.where(np.diag(r) < 0, -1.0, 1.0)  # Haar-distributed orthogonal matrix
            a = (q * lam) @ q.T
            a = 0.5 * (a + a.T)
            q.setflags(write=False)
            a.setflags(write=False)
            self.Q, self.A = q, a
        else:
            self.Q = None
            self.A = None
        self.params = params
        self.beta = float(lam.max())
        self.beta_exact = True
        self.f_inf = 0.0
        self.f_inf_exact = True
        self._finish(x1, np.full(dim, scale), x1 is not None)

    def _kernel(self) -> tuple[int, np.ndarray]:
        if self.A is None:
            return QUADRATIC, self.lam
        return QUADRATIC_ROTATED, np.concatenate([self.lam, self.Q.ravel(), self.A.ravel()])

    def hessian(self, X: Any) -> np.ndarray:
        X = self._as_x(X)
        H = np.diag(self.lam) if self.A is None else np.array(self.A)
        return np.broadcast_to(H, X.shape[:-1] + (self.dim, self.dim)).copy()

    def _extra_description(self) -> dict:
        return {
            "eigenvalues_min": float(self.lam.min()),
            "eigenvalues_max": float(self.lam.max()),
            "x_star": "0 (unique if all eigenvalues > 0)",
        }


# ----------------------------------------------------------------------------------------------
# 2. LogSum
# ----------------------------------------------------------------------------------------------


class LogSum(Problem):
    """Separable non-convex ``f(x) = sum_i log(1 + x_i^2 / a^2)`` (``a = width``).

    ``grad_i = 2 x_i / (a^2 + x_i^2)``; second derivative ``h(x) = 2 (a^2 - x^2) / (a^2 + x^2)^2``.

    Constants (PRIMARY, elementary): with ``t = x^2/a^2``, ``h = (2/a^2) (1 - t)/(1 + t)^2`` and
    ``(1 - t)/(1 + t)^2`` ranges over ``[-1/8, 1]`` for ``t >= 0`` (max 1 at t = 0, min -1/8 at
    t = 3).  The Hessian is diagonal, so ``sup ||Hess||_2 = 2/a^2`` and ``beta = 2/a^2`` exactly
    (approached by pairs near the origin).  ``f >= 0 = f(0)``: ``inf f = 0`` exact.
    Non-convex: ``h < 0`` for ``|x_i| > a``.

    Parameters: ``dim``; ``scale`` (finite real, default 1) -- default start
    ``x1 = 3 * scale * ones(dim)`` (independent of ``width``), so with the defaults
    ``F = dim * log(10)``; ``width`` (a > 0, default 1); optional custom ``x1``.
    """

    name = "logsum"
    convex = False
    beta_source = "exact: sup |d^2/dx^2 log(1 + x^2/a^2)| = 2/a^2 at x = 0 (diagonal Hessian)"
    f_inf_source = "exact: f >= 0 with f(0) = 0"

    def __init__(self, dim: int, scale: float = 1.0, width: float = 1.0, x1: Any = None) -> None:
        self.dim = check_int("dim", dim, 1, integral_floats=True)
        scale = check_real("scale", scale)
        a = check_real("width", width, 0.0, math.inf)
        self.width = a
        self._a2 = a * a
        if not (self._a2 > 0 and math.isfinite(2.0 / self._a2)):
            raise ValueError(f"width must give a finite beta = 2/width^2 > 0; got width={width!r}")
        self.params = {"scale": scale, "width": a}
        self.beta = 2.0 / self._a2
        self.beta_exact = True
        self.f_inf = 0.0
        self.f_inf_exact = True
        self._finish(x1, np.full(self.dim, 3.0 * scale), x1 is not None)

    def _kernel(self) -> tuple[int, np.ndarray]:
        return LOGSUM, np.array([self.width, self._a2, math.log(self.width)])

    def hessian(self, X: Any) -> np.ndarray:
        X = self._as_x(X)
        s = np.hypot(X, self.width)  # no overflow; s = a^2/(a^2+x^2) in (0, 1]
        np.divide(self.width, s, out=s)
        np.square(s, out=s)
        d = self.beta * s * (2.0 * s - 1.0)  # = 2 (a^2 - x^2)/(a^2 + x^2)^2
        H = np.zeros(X.shape + (self.dim,))
        idx = np.arange(self.dim)
        H[..., idx, idx] = d
        return H

    def _extra_description(self) -> dict:
        return {"x_star": "0 (unique global minimiser; the only stationary point)"}


# ----------------------------------------------------------------------------------------------
# 3. Chain (Carmon, Duchi, Hinder, Sidford)
# ----------------------------------------------------------------------------------------------

_SQRT_E = math.sqrt(math.e)
_PHI_MAX = math.sqrt(2.0 * math.pi * math.e)  # sup Phi = sqrt(e) * sqrt(2 pi)
_PSI_CUT = 0.01  # for t - 1/2 <= 0.01, exp(1 - 1/(2t-1)^2) <= exp(-2499) == 0.0 in float64
_PHI_CUT = 40.0  # for |t| >= 40, sqrt(e) exp(-t^2/2) <= exp(-799.5) == 0.0 in float64
_Z_CLIP = 1e300  # |z| beyond this changes nothing in float64 (Psi = e, Psi' = 0, Phi saturated)
CHAIN_L1_PAPER = 152.0
CHAIN_GAP_PER_COORD_PAPER = 12.0


def _psi_parts(az: np.ndarray, order: int = 1) -> tuple[np.ndarray, ...]:
    """Psi(t), Psi'(t)[, Psi''(t)] at t = az >= 0 (any t works), overflow/NaN-free.

    Psi(t) = exp(1 - r^2) with r = 1/(2t - 1) = 0.5/(t - 0.5) for t > 1/2, else 0.
    Psi' = 4 r^3 Psi, Psi'' = (16 r^6 - 24 r^4) Psi.  Clamping t - 1/2 at 0.01 from below gives
    exactly 0.0 (float64 underflow of the exact value) for t <= 0.51, so no branch is needed.
    """
    r = az - 0.5
    np.maximum(r, _PSI_CUT, out=r)
    np.divide(0.5, r, out=r)
    w = r * r
    P = np.subtract(1.0, w)
    np.exp(P, out=P)
    dP = w * r
    dP *= P
    dP *= 4.0
    if order == 1:
        return P, dP
    d2P = w * w * (16.0 * w - 24.0) * P
    return P, dP, d2P


class Chain(Problem):
    """The hard non-convex chain of Carmon, Duchi, Hinder & Sidford, scaled.

    Reference: Y. Carmon, J. C. Duchi, O. Hinder, A. Sidford, "Lower bounds for finding stationary
    points I", Math. Programming 184 (2020), arXiv:1710.11606 (Section 3, the function
    ``\\bar f_T``; also used by Arjevani et al., "Lower bounds for non-convex stochastic
    optimization", 2019/2022).

    Unscaled function (T = dim, x_0 := 1 by convention)::

        f_T(x) = -Psi(1) Phi(x_1) + sum_{i=2}^T [Psi(-x_{i-1}) Phi(-x_i) - Psi(x_{i-1}) Phi(x_i)]
        Psi(t) = 0 (t <= 1/2),  exp(1 - 1/(2t - 1)^2) (t > 1/2);   Psi(1) = 1,  Psi -> e
        Phi(t) = sqrt(e) int_{-inf}^t exp(-s^2/2) ds = sqrt(2 pi e) * ndtr(t);   Phi -> sqrt(2 pi e)

    This class implements ``f(x) = (L lam^2 / 152) f_T(x / lam)`` with parameters ``L > 0``
    (default 152, so that the default IS the paper's ``f_T``) and ``lam > 0`` (default 1).
    Then ``grad f(x) = (L lam/152) grad f_T(x/lam)`` and ``Hess f(x) = (L/152) Hess f_T(x/lam)``.

    SECONDARY facts (from the paper, Lemma 3 of arXiv:1710.11606, not re-proved here):

    * ``grad f_T`` is ``l_1 = 152``-Lipschitz (an upper bound) => ``beta = L`` for the scaled
      function, ``beta_exact = False``.  NUMERICAL (Nelder-Mead maximisation of
      ``||Hess f_T(x)||_2``, 150 random starts, T = 1..6; an estimate, not a bound): the supremum
      is 1 for T = 1 (``-Phi''``), ~132.91 for T = 2 and ~134.02 for T >= 3 (e.g. at
      ``x ~ (0.7814, 0.7815, 0.7812, 0.7820, 0.7604, 39.3)`` for T = 6; the dominant term is
      ``Psi''(0.7604) * sqrt(2 pi e)``).  So for T >= 2, 152 overestimates the true constant by
      ~13-14%; the tests check ``||Hess|| <= 152`` everywhere they look and ``>= 0.875 * 152``
      at that point.
    * ``f_T(0) - inf f_T <= 12 T``.

    PRIMARY facts (elementary; proofs sketched here and checked by the tests):

    * ``inf f_T = -sqrt(2 pi e) (1 + (T-1) e)`` EXACTLY (not attained): every term
      ``Psi(-x_{i-1}) Phi(-x_i) >= 0`` and ``-Psi(x_{i-1}) Phi(x_i) > -e sqrt(2 pi e)``,
      ``-Psi(1) Phi(x_1) > -sqrt(2 pi e)``, and all bounds are approached together by
      ``x = n * ones`` as ``n -> inf``.  Hence ``f_inf = (L lam^2/152) inf f_T`` with
      ``f_inf_exact = True`` and, at the default ``x1 = 0`` (``f_T(0) = -sqrt(pi e / 2)``),
      ``F = (L lam^2/152) sqrt(2 pi e) (1/2 + (T-1) e)`` -- exact and below the paper's ``12 T``
      (``describe()`` reports both).
    * Large gradient until the chain is discovered: if ``|z_j| < 1`` for some j (in particular
      if ``|z_T| < 1``), z = x / lam, then with i the smallest such index
      ``d/dz_i f_T(z) < -1``, so ``||grad f(x)||_inf > L lam / 152`` (= ``grad_floor``).
      (All four contributions to ``d/dz_i f_T`` are <= 0; the one
      ``-Psi(|z_{i-1}|) sqrt(e) exp(-z_i^2/2)`` is < -1 since ``Psi(|z_{i-1}|) >= Psi(1) = 1``.)
      The paper states the ``|x_T| < 1`` case.
    * ``f_T`` is non-increasing in every coordinate (all partial derivatives are <= 0).

    Numerics: Psi, Psi', Phi' are evaluated through clamped forms that equal the exact function
    values in float64 (they underflow to exactly 0.0 where clamped), so no overflow, division or
    invalid-value warnings occur for any finite input and no NaN is produced.
    """

    name = "chain"
    convex = False
    beta_source = (
        "upper bound: grad f_T is 152-Lipschitz (Carmon et al., arXiv:1710.11606, Lemma 3), "
        "scaled to L; numerically sup ||Hess f_T|| ~ 134.02 for T >= 3"
    )
    f_inf_source = (
        "exact: inf f_T = -sqrt(2 pi e)(1 + (T-1) e), approached as x -> +inf (elementary bound "
        "Psi < e, Phi < sqrt(2 pi e)); scaled by L lam^2/152"
    )

    def __init__(self, dim: int, L: float = CHAIN_L1_PAPER, lam: float = 1.0, x1: Any = None) -> None:
        self.dim = check_int("dim", dim, 1, integral_floats=True)
        Lv = check_real("L", L, 0.0, math.inf)
        lamv = check_real("lam", lam, 0.0, math.inf)
        self.L = Lv
        self.lam = lamv
        self._fscale = Lv * lamv * lamv / CHAIN_L1_PAPER
        self._gscale = Lv * lamv / CHAIN_L1_PAPER
        self._hscale = Lv / CHAIN_L1_PAPER
        for nm, v in (("L*lam^2/152", self._fscale), ("L*lam/152", self._gscale)):
            if not (v > 0 and math.isfinite(v)):
                raise ValueError(f"{nm} must be a finite positive real; got {v!r} (L={L!r}, lam={lam!r})")
        self.params = {"L": Lv, "lam": lamv}
        self.beta = Lv
        self.beta_exact = False
        T = self.dim
        self.f_inf = -self._fscale * _PHI_MAX * (1.0 + (T - 1) * math.e)
        self.f_inf_exact = True
        self.grad_floor = self._gscale  # ||grad f(x)|| > grad_floor whenever |x_T| < lam
        self.F_paper_bound = self._fscale * CHAIN_GAP_PER_COORD_PAPER * T  # for x1 = 0
        self._finish(x1, np.zeros(T), x1 is not None)

    def _z(self, X: np.ndarray) -> np.ndarray:
        if self.lam == 1.0:
            return X
        if self.lam < 1.0:
            lim = _Z_CLIP * self.lam
            return np.clip(X, -lim, lim) / self.lam
        return X / self.lam

    def _kernel(self) -> tuple[int, np.ndarray]:
        return CHAIN, np.array([self.lam, -self._fscale * _PHI_MAX, -self._gscale, -self._gscale * _PHI_MAX])

    def hessian(self, X: Any) -> np.ndarray:
        X = self._as_x(X)
        z = self._z(X)
        az = np.abs(z)
        P, dP, d2P = _psi_parts(az, order=2)
        m = np.minimum(az, _PHI_CUT)
        p = np.exp(0.5 * (1.0 - m * m))
        T = self.dim
        H = np.zeros(X.shape + (T,))
        Pprev = np.ones_like(z)
        Pprev[..., 1:] = P[..., :-1]
        diag = z * p * Pprev
        if T > 1:
            s = np.sign(z[..., :-1])
            Y = s * z[..., 1:]
            from scipy.special import ndtr  # here only: SciPy is not imported by a plain run (start-up)

            diag[..., :-1] -= s * d2P[..., :-1] * (_PHI_MAX * ndtr(Y))
            off = -s * dP[..., :-1] * p[..., 1:]
            i = np.arange(T - 1)
            H[..., i, i + 1] = off
            H[..., i + 1, i] = off
        j = np.arange(T)
        H[..., j, j] = diag
        return self._hscale * H

    def _extra_description(self) -> dict:
        return {
            "f_T": "Carmon-Duchi-Hinder-Sidford chain, arXiv:1710.11606; f = (L lam^2/152) f_T(x/lam)",
            "beta_paper_unscaled": CHAIN_L1_PAPER,
            "beta_numerical_estimate": (1.0 if self.dim == 1 else 132.91 if self.dim == 2 else 134.02)
            * self._hscale,
            "beta_numerical_estimate_note": "numerical maximisation of ||Hess||_2 (not a bound); theory uses beta",
            "F_paper_bound": float(self.F_paper_bound),
            "grad_floor": float(self.grad_floor),
            "grad_floor_statement": "||grad f(x)|| > L lam/152 whenever |x_j| < lam for some j (in particular j = T)",
            "f_inf_attained": False,
        }


# ----------------------------------------------------------------------------------------------
# compiled forms: f and grad f of one row x (shape (dim,)), from the flat parameter vector p of
# ``Problem.kernel``. These are the only implementations of f and grad f in the package: the numpy
# methods above, the reference loop and the compiled engine all call them. (Hessians are kept
# in numpy: they are for verification only.)
# ----------------------------------------------------------------------------------------------


@jit(inline="always")
def _quadratic_f(p, x):
    """1/2 sum_i lam_i x_i^2; p = lam."""
    s = 0.0
    for i in range(x.size):
        s += (x[i] * p[i]) * x[i]
    return 0.5 * s


@jit(inline="always")
def _quadratic_grad(p, x, out):
    for i in range(x.size):
        out[i] = x[i] * p[i]


@jit(inline="always")
def _quadratic_rotated_f(p, x):
    """1/2 sum_k lam_k y_k^2, y = Q^T x; p = [lam, Q (row-major), A]."""
    n = x.size
    s = 0.0
    for k in range(n):
        y = 0.0
        for j in range(n):
            y += x[j] * p[n + j * n + k]
        s += (y * p[k]) * y
    return 0.5 * s


@jit(inline="always")
def _quadratic_rotated_grad(p, x, out):
    """A x (A = Q diag(lam) Q^T symmetric), as sum_j x_j A_jk; out must not alias x."""
    n = x.size
    base = n + n * n
    for k in range(n):
        g = 0.0
        for j in range(n):
            g += x[j] * p[base + j * n + k]
        out[k] = g


@jit(inline="always")
def _logsum_f(p, x):
    """sum_i log(1 + x_i^2/a^2); p = [a, a^2, log a]. For |x|/a > 1e100: 2 (log|x| - log a) (the
    dropped log1p(a^2/x^2) < 1e-200)."""
    s = 0.0
    for i in range(x.size):
        u = abs(x[i] / p[0])
        if u > 1e100:
            s += 2.0 * (math.log(abs(x[i])) - p[2])
        else:
            s += math.log1p(u * u)
    return s


@jit(inline="always")
def _logsum_grad(p, x, out):
    """2 x_i/(a^2 + x_i^2). For |x| > 1.3e154, x^2 = inf and the result is 0 (error < 2/|x|)."""
    for i in range(x.size):
        xi = x[i]
        out[i] = 2.0 * (xi / (xi * xi + p[1]))


@jit(inline="always")
def _sign(v):
    return 1.0 if v > 0.0 else (-1.0 if v < 0.0 else v)


@jit(inline="always")
def _ndtr(v):
    """Standard normal CDF, as scipy.special.ndtr (cephes): 1/2 erfc(-v/sqrt 2) in two branches."""
    t = v * 0.7071067811865476
    z = abs(t)
    if z < 0.7071067811865476:
        return 0.5 + 0.5 * math.erf(t)
    y = 0.5 * math.erfc(z)
    return 1.0 - y if t > 0.0 else y


@jit(inline="always")
def _psi(t):
    """(Psi(t), Psi'(t)): Psi = exp(1 - r^2), r = 0.5/(t - 1/2) clamped (see _psi_parts)."""
    r = 0.5 / max(t - 0.5, _PSI_CUT)
    w = r * r
    P = math.exp(1.0 - w)
    return P, ((w * r) * P) * 4.0


@jit(inline="always")
def _chain_z(lam, v):
    if lam == 1.0:
        return v
    if lam < 1.0:
        lim = _Z_CLIP * lam
        return min(max(v, -lim), lim) / lam
    return v / lam


@jit(inline="always")
def _chain_f(p, x):
    """(L lam^2/152) f_T(x/lam) with f_T = -sum_i Psi(-z_{i-1}) Phi(-z_i) in the sign-symmetric form
    -sum_i s_{i-1} Psi(|z_{i-1}|) Phi(s_{i-1} z_i), z_0 = 1; p = [lam, -fscale sqrt(2 pi e), ...]."""
    lam = p[0]
    zp = _chain_z(lam, x[0])
    s = _ndtr(zp)
    for i in range(1, x.size):
        zi = _chain_z(lam, x[i])
        sg = _sign(zp)
        P, _ = _psi(abs(zp))
        s += (_ndtr(zi * sg) * P) * sg
        zp = zi
    return p[1] * s


@jit(inline="always")
def _chain_grad(p, x, out):
    """d_i f_T = -Phi'(z_i) Psi(|z_{i-1}|) - Psi'(|z_i|) Phi(s_i z_{i+1}), scaled; Phi'(z) =
    exp((1 - z^2)/2) clamped at |z| = 40 (exactly 0 beyond). p = [lam, ., -gscale, -gscale sqrt(2 pi e)]."""
    lam = p[0]
    n = x.size
    Pprev = 1.0
    for i in range(n):
        zi = _chain_z(lam, x[i])
        a = min(abs(zi), _PHI_CUT)
        ph = math.exp((1.0 - a * a) * 0.5)
        out[i] = ph * p[2] if i == 0 else (ph * Pprev) * p[2]
        P, dP = _psi(abs(zi))
        if i + 1 < n:
            zn = _chain_z(lam, x[i + 1])
            out[i] += (dP * _ndtr(_sign(zi) * zn)) * p[3]
        Pprev = P


#: the compiled problems, indexed by ``Problem.kernel[0]``: (name, f(p, x), grad(p, x, out))
KERNELS: tuple[tuple[str, Callable, Callable], ...] = (
    ("quadratic", _quadratic_f, _quadratic_grad),
    ("quadratic-rotated", _quadratic_rotated_f, _quadratic_rotated_grad),
    ("logsum", _logsum_f, _logsum_grad),
    ("chain", _chain_f, _chain_grad),
)
QUADRATIC, QUADRATIC_ROTATED, LOGSUM, CHAIN = range(len(KERNELS))

#: f_any(code, p, x) and grad_any(code, p, x, out): the dispatch over KERNELS
f_any = switch("f_any", [k[1] for k in KERNELS], "p, x", "np.nan")
grad_any = switch("grad_any", [k[2] for k in KERNELS], "p, x, out", "None")


@jit
def _f_rows(code, p, X, out):
    for r in range(X.shape[0]):
        out[r] = f_any(code, p, X[r])


@jit
def _grad_rows(code, p, X, out):
    tmp = np.empty(X.shape[1])
    for r in range(X.shape[0]):
        grad_any(code, p, X[r], tmp)
        for k in range(X.shape[1]):
            out[r, k] = tmp[k]


# ----------------------------------------------------------------------------------------------
# registry and factory for problems
# ----------------------------------------------------------------------------------------------

PROBLEMS: dict[str, dict[str, Any]] = {
    "quadratic": {
        "description": "convex quadratic 1/2 sum lambda_i y_i^2 (y = Q^T x); beta = max lambda, inf f = 0 (both exact)",
        "defaults": {"spectrum": "linear", "mu": 0.01, "L": 1.0, "scale": 1.0, "rotate": False, "seed": 0},
        "parameters": {
            "spectrum": "'linear' | 'geometric' | 'constant' | ';'-separated eigenvalues >= 0 (length dim)",
            "mu": "smallest eigenvalue of a named family, in (0, L]",
            "L": "largest eigenvalue (= beta), > 0",
            "scale": "x1 = scale * ones, finite real",
            "rotate": "true/false: random orthogonal basis",
            "seed": "integer >= 0, seed of the rotation",
        },
    },
    "logsum": {
        "description": "non-convex separable sum log(1 + x_i^2/a^2); beta = 2/a^2, inf f = 0 (both exact); defaults F = dim log 10",
        "defaults": {"scale": 1.0, "width": 1.0},
        "parameters": {"scale": "x1 = 3 * scale * ones, finite real", "width": "a > 0"},
    },
    "chain": {
        "description": "Carmon et al. hard chain (L lam^2/152) f_T(x/lam), x1 = 0; beta = L (upper bound), inf f exact",
        "defaults": {"L": CHAIN_L1_PAPER, "lam": 1.0},
        "parameters": {"L": "smoothness bound (beta), > 0", "lam": "length scale lambda > 0"},
    },
}

_PROBLEM_CLASSES: dict[str, type[Problem]] = {"quadratic": Quadratic, "logsum": LogSum, "chain": Chain}


def make(spec: str, dim: int, **overrides: Any) -> Problem:
    """Build a problem from a spec string, e.g. ``make("quadratic:spectrum=geometric,mu=1e-3", 10)``.

    Keyword ``overrides`` take precedence over the spec's parameters (e.g. ``x1=...``,
    ``spectrum=np.array([...])``).  Unknown names/parameters raise ValueError.
    """
    name, params = parse_spec(spec)
    if name not in _PROBLEM_CLASSES:
        raise ValueError(f"problem name must be one of {sorted(_PROBLEM_CLASSES)}; got {name!r}")
    params.update(overrides)
    allowed = set(PROBLEMS[name]["parameters"]) | {"x1"}
    for key in params:
        if key not in allowed:
            raise ValueError(
                f"parameter {key!r} is not accepted by problem {name!r}; allowed: {sorted(allowed)}"
            )
    return _PROBLEM_CLASSES[name](dim, **params)
