"""A CERTIFIED lower bound on the constant C of the rate form, for Picky SGD with Theorem D's step
and threshold (issue 25 (d)). Holds for Theorem D's step and threshold only; derived here, not the
paper's constant.

**What is certified.** The rate form (``theory`` ``picky``, sigma = 0) says: for every beta-smooth f
with f(x_1) - inf f <= F and every delay sequence, Picky SGD reaches ||grad f(x_t)|| <= eps at some
t <= T whenever T >= C rate(tau_avg(T)), rate(tau) = beta F (1 + tau)/eps^2 and tau_avg(T) =
(1/T) sum_{t<=T} d_t (claim 9, :func:`verify.claims.tightness.c_lower_bound`). So ONE explicit
instance whose first eps-stationary iterate is x_h proves

    C >= max_{1 <= T < h} T / rate(tau_avg(T))                                              (*)

for Picky SGD run with eta = eta_D = 1/(9 beta) and rho = rho_D = eps/(2 beta) (theory.results
``ETA_D``, ``RHO_D`` at sigma = 0), and for no other step or threshold. Everything is decided in
exact rational arithmetic (:class:`fractions.Fraction`): beta, eps, g rational make eta_D, rho_D,
every iterate, gradient and distance rational, and in one dimension a norm is an absolute value, so
every comparison (accept iff |x_t - x_{t-d_t}| <= rho; hit iff |f'(x_t)| <= eps) is exact. No
interval arithmetic is needed.

**The function class, exactly.** :class:`PiecewiseGradient`: f: R -> R whose derivative f' is
continuous and piecewise linear, given by knots u_0 < ... < u_n with f'(u_i) = s_i, linear between,
and affine with slopes ``left_slope`` / ``right_slope`` beyond the outer knots. Then

- f is beta-smooth (|f'(x) - f'(y)| <= beta |x - y|) iff every segment's slope and both outer slopes
  lie in [-beta, beta] (a continuous piecewise-linear function is Lipschitz with the largest
  |slope|);
- f is bounded below iff on the right f' -> +inf or f' = s_n >= 0 constant (right_slope > 0, or = 0
  with s_n >= 0), and on the left right_slope's mirror (left_slope > 0, or = 0 with s_0 <= 0);
- then inf f is attained, at a knot or at a zero of f' (f is quadratic on each piece, so its minimum
  on a piece is at an end or at the vertex): :meth:`PiecewiseGradient.f` is normalised so that
  inf f = 0 EXACTLY, and F := f(x_1) is the exact gap f(x_1) - inf f.

**The instance.** :func:`zigzag`: the Huber core f' = beta x on |x| <= g/beta (f' = -g to the
left), then for x >= g/beta a triangle wave f' between g (peaks, period p = eta_D g) and g - depth
beta p/2 (dips) -- slopes +-beta, so beta-smooth -- and x_1 = g/beta + n p. ``depth = 0`` is the
Huber function f = g|x| - g^2/(2 beta) of the task; ``depth = 1`` the deepest dips allowed. Every
accepted step moves from a peak to the next one (f' = g there), so the iterates stay on peaks and
each step descends by exactly eta g^2 (1 - depth beta eta/4): the smallest descent a beta-smooth f
allows for a step from and to points of slope g (a V-shaped f' between them). With g slightly above
eps, n periods, depth 1 and no delays, h = n + 2 and (*) gives

    C >= (n + 1) eps^2 / (beta F),  F = g^2/(2 beta) + n eta g^2 (1 - beta eta/4)  ->  324/35 (n -> inf, g -> eps)

(the last g^2/(2 beta) is the least gap any beta-smooth f with |f'(x_{n+1})| = g leaves: the descent
lemma). Delays can only add REJECTED steps here (an accepted step of this f moves to the next peak
whatever its delay); a rejection needs |x_t - x_{t-d_t}| > rho = 4.5 eta eps, so d_t >= 5 for steps of
length eta g < 1.1 eta eps, and T/rate falls: T^2/(T + S) loses about d_t - 1 > 0 per rejection
(:func:`search` checks the families exactly; none with delays beats the no-delay instance).

**The upper side.** Theorem D (``picky-explicit``, sigma = 0) implies the rate form with the
constant C_D = sup_{tau >= 0} bound_D(tau)/rate(tau) (:func:`theorem_d_constant`, derived
symbolically from theory's statements: 8960): at sigma = 0 the run is deterministic, so Theorem D's
"probability >= 1/2" is certainty. So C_lower <= C_D is a check that can fail.

**Certificate.** :func:`certify` returns the instance and the transcript (every iterate, decision,
gradient); :func:`check_certificate` re-derives, independently of the replay loop, that the
function is in the class, that F = f(x_1) - inf f, every step's update and decision, every
|f'(x_t)| > eps before h and |f'(x_h)| <= eps, and the bound (*). The PEP instances of
:mod:`verify.worstcase` are not used: they satisfy only f(x_1) - f(x_{T+1}) <= F (or the "every"
conditions), not f(x_1) - inf f <= F, so they do not certify lower bounds for the theorems' class.
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Callable, Sequence

__all__ = [
    "PiecewiseGradient", "zigzag", "theorem_d_parameters", "rate_coefficients", "replay", "Replay",
    "certify", "Certificate", "check_function", "check_certificate", "theorem_d_constant", "search",
    "float_problem", "BEST",
]

Q = Fraction
Delays = Sequence[int] | Callable[[int], int]


def _q(v: Any) -> Fraction:
    """An exact rational from an int, a Fraction, a SymPy Rational or a decimal string (never a float)."""
    if isinstance(v, float):
        raise ValueError(f"exact arithmetic needs a rational, not the float {v!r} (give a Fraction or a string)")
    if hasattr(v, "p") and hasattr(v, "q"):  # sympy Rational / Integer
        return Q(int(v.p), int(v.q))
    return Q(v)


# --- the function --------------------------------------------------------------------------------
@dataclass(frozen=True)
class PiecewiseGradient:
    """f on R with f' continuous and piecewise linear: knots ``u`` (increasing), values ``s`` =
    f'(u_i), affine beyond the ends with ``left_slope``/``right_slope``; f normalised to inf f = 0
    (when bounded below). All Fractions."""

    u: tuple[Fraction, ...]
    s: tuple[Fraction, ...]
    left_slope: Fraction
    right_slope: Fraction
    label: str = ""
    _phi: tuple[Fraction, ...] = field(default=(), repr=False, compare=False)
    _inf: Fraction | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        u, s = tuple(map(_q, self.u)), tuple(map(_q, self.s))
        if len(u) != len(s) or not u:
            raise ValueError(f"knots and values must be non-empty and of equal length; got {len(u)} and {len(s)}")
        if any(b <= a for a, b in zip(u, u[1:])):
            raise ValueError("knots must be strictly increasing")
        object.__setattr__(self, "u", u)
        object.__setattr__(self, "s", s)
        object.__setattr__(self, "left_slope", _q(self.left_slope))
        object.__setattr__(self, "right_slope", _q(self.right_slope))
        phi = [Q(0)]  # Phi(u_i) = int_{u_0}^{u_i} f'
        for i in range(len(u) - 1):
            phi.append(phi[-1] + (u[i + 1] - u[i]) * (s[i] + s[i + 1]) / 2)
        object.__setattr__(self, "_phi", tuple(phi))
        object.__setattr__(self, "_inf", self._min_phi() if self.bounded_below else None)

    # f' and f -----------------------------------------------------------------------------
    def _piece(self, x: Fraction) -> tuple[Fraction, Fraction, Fraction, Fraction]:
        """(a, Phi(a), f'(a), slope) of the piece containing x, a its left end (u_0 on the left)."""
        u, s = self.u, self.s
        if x <= u[0]:
            return u[0], Q(0), s[0], self.left_slope
        i = bisect.bisect_right(u, x) - 1
        if i >= len(u) - 1:
            return u[-1], self._phi[-1], s[-1], self.right_slope
        return u[i], self._phi[i], s[i], (s[i + 1] - s[i]) / (u[i + 1] - u[i])

    def grad(self, x: Any) -> Fraction:
        """f'(x), exactly."""
        x = _q(x)
        a, _, sa, m = self._piece(x)
        return sa + m * (x - a)

    def _phi_at(self, x: Fraction) -> Fraction:
        a, pa, sa, m = self._piece(x)
        return pa + sa * (x - a) + m * (x - a) ** 2 / 2

    def _min_phi(self) -> Fraction:
        """min of Phi: at the knots or at a zero of f' inside a piece or on an end ray."""
        u, s = self.u, self.s
        cands = list(self._phi)
        for i in range(len(u) - 1):
            if (s[i] < 0 < s[i + 1]) or (s[i] > 0 > s[i + 1]):
                z = u[i] - s[i] * (u[i + 1] - u[i]) / (s[i + 1] - s[i])
                cands.append(self._phi_at(z))
        if self.right_slope > 0 and s[-1] < 0:
            cands.append(self._phi_at(u[-1] - s[-1] / self.right_slope))
        if self.left_slope > 0 and s[0] > 0:
            cands.append(self._phi_at(u[0] - s[0] / self.left_slope))
        return min(cands)

    @property
    def bounded_below(self) -> bool:
        right = self.right_slope > 0 or (self.right_slope == 0 and self.s[-1] >= 0)
        left = self.left_slope > 0 or (self.left_slope == 0 and self.s[0] <= 0)
        return right and left

    def f(self, x: Any) -> Fraction:
        """f(x) = Phi(x) - min Phi, so inf f = 0 exactly (ValueError if f is unbounded below)."""
        if self._inf is None:
            raise ValueError("f is unbounded below (an outer slope of f' points the wrong way)")
        return self._phi_at(_q(x)) - self._inf

    def smoothness(self) -> Fraction:
        """The exact Lipschitz constant of f': the largest |slope| of a piece or an end ray."""
        slopes = [abs(self.left_slope), abs(self.right_slope)]
        slopes += [abs((b - a) / (v - w)) for a, b, w, v in zip(self.s, self.s[1:], self.u, self.u[1:])]
        return max(slopes)

    def describe(self, max_knots: int = 8) -> dict:
        return {"label": self.label, "knots": len(self.u),
                "first_knots": [[str(a), str(b)] for a, b in list(zip(self.u, self.s))[:max_knots]],
                "left_slope": str(self.left_slope), "right_slope": str(self.right_slope),
                "smoothness": str(self.smoothness()), "inf_f": "0" if self._inf is not None else None}


def zigzag(beta: Any, g: Any, periods: int, depth: Any = 1, eta: Any = None) -> tuple[PiecewiseGradient, Fraction]:
    """(f, x_1): the Huber core f' = beta x on |x| <= g/beta, f' = -g left of it, and ``periods``
    periods p = eta g of a triangle wave between g (peaks, x = g/beta + k p) and g - depth beta p/2
    (dips) right of it; constant g beyond the last peak x_1 = g/beta + periods p. ``eta`` defaults to
    Theorem D's eta_D = 1/(9 beta). depth = 0: the Huber function; depth in [0, 1] keeps f beta-smooth."""
    beta, g, depth = _q(beta), _q(g), _q(depth)
    eta = theorem_d_parameters(beta, 1)[0] if eta is None else _q(eta)
    p = eta * g
    a = g / beta
    u, s = [-a, a], [-g, g]
    dip = g - depth * beta * p / 2
    for k in range(periods):
        u += [a + k * p + p / 2, a + (k + 1) * p]
        s += [dip, g]
    fn = PiecewiseGradient(tuple(u), tuple(s), Q(0), Q(0),
                           label=f"zigzag(beta={beta}, g={g}, periods={periods}, depth={depth})")
    return fn, a + periods * p


# --- Theorem D's parameters and the rate, from theory (never retyped) ------------------------------
def theorem_d_parameters(beta: Any, eps: Any) -> tuple[Fraction, Fraction]:
    """(eta_D, rho_D) at sigma = 0, exact: theory.results' ETA_D and RHO_D with rational beta, eps."""
    import sympy as sp

    from theory import results, symbols

    sub = {symbols.beta: sp.Rational(str(_q(beta))), symbols.eps: sp.Rational(str(_q(eps))), symbols.sigma: 0}
    eta, rho = sp.nsimplify(results.ETA_D.subs(sub)), sp.nsimplify(results.RHO_D.subs(sub))
    if not (eta.is_Rational and rho.is_Rational):  # pragma: no cover - theory changed
        raise ValueError(f"eta_D = {eta}, rho_D = {rho} are not rational at beta = {beta}, eps = {eps}")
    return _q(eta), _q(rho)


def rate_coefficients(beta: Any, F: Any, eps: Any) -> tuple[Fraction, Fraction]:
    """(a, b) with rate(tau) = a + b tau: theory ``picky``'s bound at C = 1, sigma = 0 (checked affine in tau)."""
    import sympy as sp

    import theory
    from theory import symbols

    st = theory.get("picky")
    expr = st.bound.subs({st.constant.symbol: 1, symbols.sigma: 0, symbols.beta: sp.Rational(str(_q(beta))),
                          symbols.F: sp.Rational(str(_q(F))), symbols.eps: sp.Rational(str(_q(eps)))})
    if sp.diff(expr, symbols.tau_avg, 2) != 0:  # pragma: no cover - theory changed
        raise ValueError(f"the rate form {expr} is not affine in tau_avg")
    return _q(expr.subs(symbols.tau_avg, 0)), _q(sp.diff(expr, symbols.tau_avg))


def theorem_d_constant(result: str = "picky-explicit") -> dict:
    """C_D = sup_{tau >= 0} bound(tau)/rate(tau) at sigma = 0 (C = 1 in the rate), from theory's SymPy:
    Theorem D's side condition at T is T >= bound(tau_avg(T)), so T >= C_D rate(tau_avg(T)) implies it.
    The ratio must depend on tau alone and be monotone on [0, inf) (else ``C_D`` is None)."""
    import sympy as sp

    import theory
    from theory import symbols

    st, rate = theory.get(result), theory.get("picky")
    tau = symbols.tau_avg
    ratio = sp.simplify((st.bound / rate.bound.subs(rate.constant.symbol, 1)).subs(symbols.sigma, 0))
    out = {"result": result, "ratio": str(ratio), "C_D": None}
    if ratio.free_symbols - {tau}:
        out["why_none"] = f"the ratio depends on {sorted(map(str, ratio.free_symbols - {tau}))}"
        return out
    dr = sp.simplify(sp.diff(ratio, tau))
    if dr.is_nonnegative:
        c = sp.limit(ratio, tau, sp.oo)
    elif dr.is_nonpositive:
        c = ratio.subs(tau, 0)
    else:
        out["why_none"] = f"d ratio/d tau = {dr} has no sign SymPy can decide"
        return out
    out["C_D"] = _q(sp.nsimplify(c)) if c.is_Rational else None
    out["derivative"] = str(dr)
    return out


# --- the exact replay ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Replay:
    """The transcript of one exact run: ``xs[k]`` = x_{k+1} (k = 0..steps), ``accepted[k]`` the
    decision of step k+1, ``delays[k]`` = d_{k+1}; ``hit`` the first t with |f'(x_t)| <= eps (None if
    none within ``max_steps``)."""

    xs: tuple[Fraction, ...]
    delays: tuple[int, ...]
    accepted: tuple[bool, ...]
    hit: int | None


def _delay(delays: Delays, t: int) -> int:
    return int(delays(t)) if callable(delays) else int(delays[t - 1])


def replay(fn: PiecewiseGradient, x1: Any, delays: Delays, eta: Any, rho: Any, eps: Any, max_steps: int) -> Replay:
    """Picky SGD (Algorithm 1, sigma = 0) in exact arithmetic, line by line:

        for t = 1, 2, ...:
            if |f'(x_t)| <= eps: stop (hit = t)
            y_t = x_{t - d_t}
            if |x_t - y_t| <= rho:  x_{t+1} = x_t - eta f'(y_t)      (accept)
            else:                   x_{t+1} = x_t                    (reject)

    Stops at the hit or after ``max_steps`` steps (a sequence of delays must cover them)."""
    eta, rho, eps = _q(eta), _q(rho), _q(eps)
    xs, ds, acc = [_q(x1)], [], []
    hit = None
    for t in range(1, max_steps + 2):
        x_t = xs[t - 1]
        if abs(fn.grad(x_t)) <= eps:
            hit = t
            break
        if t > max_steps:
            break
        d_t = _delay(delays, t)
        if not 0 <= d_t <= t - 1:
            raise ValueError(f"delay d_{t} = {d_t}; it must satisfy 0 <= d_t <= t-1")
        y_t = xs[t - 1 - d_t]
        if abs(x_t - y_t) <= rho:
            xs.append(x_t - eta * fn.grad(y_t))
            acc.append(True)
        else:
            xs.append(x_t)
            acc.append(False)
        ds.append(d_t)
    return Replay(tuple(xs), tuple(ds), tuple(acc), hit)


def c_bound(delays: Sequence[int], last: int, beta: Any, F: Any, eps: Any) -> tuple[Fraction, int]:
    """(max_{1<=T<=last} T/rate(tau_avg(T)), the T attaining it), exactly; ``last`` = h - 1."""
    a, b = rate_coefficients(beta, F, eps)
    best, arg, S = Q(0), 0, 0
    for T in range(1, last + 1):
        S += int(delays[T - 1])
        v = Q(T) / (a + b * Q(S, T))
        if v > best:
            best, arg = v, T
    return best, arg


# --- certificate ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Certificate:
    """An instance, its transcript and the bound it proves (exact rationals; :meth:`as_dict` for evidence)."""

    fn: PiecewiseGradient
    beta: Fraction
    eps: Fraction
    eta: Fraction
    rho: Fraction
    F: Fraction
    run: Replay
    C_lower: Fraction
    T_star: int

    @property
    def hit(self) -> int | None:
        return self.run.hit

    def as_dict(self) -> dict:
        r = self.run
        return {
            "function": self.fn.describe(), "beta": str(self.beta), "eps": str(self.eps), "sigma": "0",
            "eta_D": str(self.eta), "rho_D": str(self.rho), "x1": str(r.xs[0]), "F_exact": str(self.F),
            "F": float(self.F), "hit": r.hit, "steps": len(r.accepted), "accepted": sum(r.accepted),
            "rejected": len(r.accepted) - sum(r.accepted), "sum_delays": sum(r.delays),
            "delays_nonzero": {t + 1: d for t, d in enumerate(r.delays) if d}, "T_star": self.T_star,
            "C_lower_exact": f"{self.C_lower.numerator}/{self.C_lower.denominator}", "C_lower": float(self.C_lower),
        }


def certify(fn: PiecewiseGradient, x1: Any, delays: Delays, beta: Any, eps: Any, max_steps: int) -> Certificate:
    """Replay Picky SGD with Theorem D's eta and rho on (fn, x1, delays) exactly; the bound (*) over
    T < hit (or T <= max_steps when no hit: then every such T < h too)."""
    beta, eps = _q(beta), _q(eps)
    eta, rho = theorem_d_parameters(beta, eps)
    F = fn.f(x1)
    run = replay(fn, x1, delays, eta, rho, eps, max_steps)
    last = (run.hit - 1) if run.hit is not None else len(run.accepted)
    C, T_star = c_bound(run.delays, last, beta, F, eps)
    return Certificate(fn, beta, eps, eta, rho, F, run, C, T_star)


def check_function(fn: PiecewiseGradient, beta: Any) -> list[str]:
    """Why ``fn`` is NOT in the class (beta-smooth, bounded below, inf f = 0): [] if it is."""
    bad = []
    if fn.smoothness() > _q(beta):
        bad.append(f"f' has slope {fn.smoothness()} > beta = {beta}: not beta-smooth")
    if not fn.bounded_below:
        bad.append("f is unbounded below")
    else:  # f >= 0 everywhere (so F = f(x_1) >= f(x_1) - inf f), piece by piece: a quadratic is >= 0 on an
        # interval iff it is at both ends and at its vertex if inside; on an end ray, at the knot and the vertex
        u, s = fn.u, fn.s
        pts = list(u)
        for i in range(len(u) - 1):
            m = (s[i + 1] - s[i]) / (u[i + 1] - u[i])
            if m != 0 and u[i] < u[i] - s[i] / m < u[i + 1]:
                pts.append(u[i] - s[i] / m)
        if fn.right_slope != 0 and u[-1] - s[-1] / fn.right_slope > u[-1]:
            pts.append(u[-1] - s[-1] / fn.right_slope)
        if fn.left_slope != 0 and u[0] - s[0] / fn.left_slope < u[0]:
            pts.append(u[0] - s[0] / fn.left_slope)
        low = min(fn.f(x) for x in pts)
        if low < 0:
            bad.append(f"f takes the value {low} < 0 = the claimed inf f")
    return bad


def check_certificate(c: Certificate) -> list[str]:
    """Re-derive everything a certificate claims, exactly and independently of :func:`replay`'s loop:
    the function is in the class, eta and rho are Theorem D's, F = f(x_1) - inf f, each step t < hit
    has |f'(x_t)| > eps, 0 <= d_t <= t-1, the decision (accept iff |x_t - x_{t-d_t}| <= rho) and the
    update; |f'(x_hit)| <= eps; and C_lower, T_star. Returns the failures ([] = certified)."""
    bad = check_function(c.fn, c.beta)
    if (c.eta, c.rho) != theorem_d_parameters(c.beta, c.eps):
        bad.append(f"(eta, rho) = ({c.eta}, {c.rho}) are not Theorem D's at beta = {c.beta}, eps = {c.eps}")
    xs, ds, acc = c.run.xs, c.run.delays, c.run.accepted
    if c.F != c.fn.f(xs[0]):
        bad.append(f"F = {c.F} != f(x_1) - inf f = {c.fn.f(xs[0])}")
    n = len(acc)
    if len(xs) != n + 1 or len(ds) != n:
        bad.append("transcript lengths disagree")
        return bad
    for k in range(n):
        t = k + 1
        if not abs(c.fn.grad(xs[k])) > c.eps:
            bad.append(f"step {t}: |f'(x_t)| = {abs(c.fn.grad(xs[k]))} <= eps before the claimed hit")
        if not 0 <= ds[k] <= k:
            bad.append(f"step {t}: d_t = {ds[k]} outside [0, t-1]")
            continue
        y = xs[k - ds[k]]
        want = not (abs(xs[k] - y) > c.rho)
        if acc[k] != want:
            bad.append(f"step {t}: decision {'accept' if acc[k] else 'reject'} but |x_t - y_t| = {abs(xs[k] - y)}, "
                       f"rho = {c.rho}")
        nxt = xs[k] - c.eta * c.fn.grad(y) if want else xs[k]
        if xs[k + 1] != nxt:
            bad.append(f"step {t}: x_(t+1) = {xs[k + 1]} but the update gives {nxt}")
    if c.run.hit is not None:
        if c.run.hit != n + 1:
            bad.append(f"hit = {c.run.hit} but the transcript has {n} steps")
        elif not abs(c.fn.grad(xs[n])) <= c.eps:
            bad.append(f"the claimed hit x_{n + 1} has |f'| = {abs(c.fn.grad(xs[n]))} > eps")
    a, b = rate_coefficients(c.beta, c.F, c.eps)
    S = sum(ds[: c.T_star])
    if n == 0:  # a hit at step 1 proves nothing
        if (c.T_star, c.C_lower) != (0, 0):
            bad.append(f"no step before the hit, but C_lower = {c.C_lower}, T* = {c.T_star}")
    elif not 1 <= c.T_star <= n or Q(c.T_star) / (a + b * Q(S, c.T_star)) != c.C_lower:
        bad.append(f"C_lower = {c.C_lower} is not T/rate(tau_avg(T)) at T* = {c.T_star}")
    return bad


# --- the search and the instance that wins --------------------------------------------------------
#: the certified instance (beta = eps = 1): depth-1 zigzag, g = eps (1 + 1/10^4), no delays
BEST = {"beta": 1, "eps": 1, "g": Q(10001, 10000), "periods": 4000, "depth": 1}


def best_certificate(periods: int | None = None) -> Certificate:
    """The certificate of :data:`BEST` (``periods`` overrides its length)."""
    n = BEST["periods"] if periods is None else periods
    fn, x1 = zigzag(BEST["beta"], BEST["g"], n, BEST["depth"])
    return certify(fn, x1, [0] * (n + 10), BEST["beta"], BEST["eps"], n + 10)


def delay_patterns(budget: int = 3) -> dict[str, Callable[[int], int]]:
    """Delay families for :func:`search` (each clipped to d_t <= t-1): none; constant d; one delay-k
    step every m steps (k >= 5 can reject on the ramp: |x_t - x_{t-k}| = k eta g > rho)."""
    pats: dict[str, Callable[[int], int]] = {"none": lambda t: 0}
    for d in range(1, budget + 1):
        pats[f"const {d}"] = lambda t, d=d: min(d, t - 1)
    for k in (5, 6, 9):
        for m in (2, 5, 20):
            pats[f"every {m}: {k}"] = lambda t, k=k, m=m: min(k, t - 1) if t % m == 0 else 0
    return pats


def search(periods: int = 200, gs: Sequence[Any] = ("101/100", "11/10", "5/4"), depths: Sequence[Any] = (0, "1/2", 1),
           beta: Any = 1, eps: Any = 1) -> list[dict]:
    """Exact certified bounds over zigzag functions (slope g, depth) x delay patterns; best first."""
    rows = []
    for g in gs:
        for depth in depths:
            fn, x1 = zigzag(beta, g, periods, depth)
            for name, pat in delay_patterns().items():
                c = certify(fn, x1, pat, beta, eps, 3 * periods + 50)
                rows.append({"g": str(_q(g)), "depth": str(_q(depth)), "delays": name, "hit": c.hit,
                             "rejected": len(c.run.accepted) - sum(c.run.accepted), "C_lower": float(c.C_lower)})
    return sorted(rows, key=lambda r: -r["C_lower"])


# --- a float view, for the float implementations (tests, cross-checks) ----------------------------
class float_problem:
    """``fn`` in floating point with the interface :func:`verify.algorithms.reference_run` reads
    (``x1``, ``grad``, ``f``, ``describe``; dimension 1): an independent float replay of the instance."""

    def __init__(self, fn: PiecewiseGradient, x1: Any):
        import numpy as np

        self._fn, self._np = fn, np
        self._u = np.array([float(v) for v in fn.u])
        self._s = np.array([float(v) for v in fn.s])
        self.x1 = np.array([float(_q(x1))])
        self.dim = 1

    def _g(self, x: float) -> float:
        u, s, fn = self._u, self._s, self._fn
        if x <= u[0]:
            return float(s[0] + float(fn.left_slope) * (x - u[0]))
        if x >= u[-1]:
            return float(s[-1] + float(fn.right_slope) * (x - u[-1]))
        return float(self._np.interp(x, u, s))

    def grad(self, X: Any) -> Any:
        X = self._np.asarray(X, dtype=float)
        return self._np.array([self._g(float(X.reshape(-1)[0]))])

    def f(self, X: Any) -> float:
        return float(self._fn.f(Q(float(self._np.asarray(X, dtype=float).reshape(-1)[0]))))

    def describe(self) -> dict:
        return {"name": "certified-1d", "spec": self._fn.label, "dim": 1, "F": float(self._fn.f(Q(float(self.x1[0]))))}
