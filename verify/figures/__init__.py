"""The figures: one module per figure, each with ``compute(profile, seed, ctx=None) -> Table`` (the
plotted data, :mod:`.table`) and ``plot(table) -> matplotlib Figure``, all in one style
(:mod:`.style`). :func:`generate` (``picky figures``) writes every figure into one directory,
atomically (:class:`verify.io.output.OutputDir`): ``NAME.png``, ``NAME.svg``, ``NAME.csv`` (exactly the
plotted data), ``NAME.meta.json`` (caption, seeds, fitted values), ``README.md`` (the index) and
``MANIFEST.json``.

=====  ==========================  ===========================================================================
 no.   name                        what it shows (module)
=====  ==========================  ===========================================================================
 1     theory-iterations           every bound's steps against eps for one skewed delay distribution
 2     theory-advantage            Picky's bound over delayed SGD's against tau_max/tau_avg; crossover
 3     headline                    measured steps vs tau_max (fixed tau_avg) and vs tau_avg (fixed tau_max)
 4     measured-vs-bound           measured / bound for every checked instance; the adversarial worst
 5     delay-distributions         histograms of the delay models, the worker pool, the constructions
 6     threshold                   Picky's rejected fraction and steps against rho, gentle and hard
 7     hunter                      a refuted conjecture: the counterexample and its run vs Theorem D'
 8     digits                      the paper's experiment, reconstructed (MLP on scikit-learn digits)
 9     seconds-vs-workers          seconds to eps against n (tau_i = sqrt(i)), every method, T_homog dashed
 10    seconds-vs-heterogeneity    seconds to eps against the exponent a of tau_i = i^a at fixed n
 11    steps-and-seconds           one run per method in steps and in seconds: winning in one, losing in other
 12    compute-delays              the delays each computation model induces (CCDF), tau_avg, tau_max
 13    digits-seconds              figure 8's experiment against seconds, heterogeneous fleet, every method
=====  ==========================  ===========================================================================
"""
from __future__ import annotations

import importlib
from types import ModuleType

from .context import PROFILES, Context
from .table import Table

#: every figure, in index order: name -> its module in this package (imported on first use, so that
#: ``picky --help`` does not load matplotlib)
_MODULES: dict[str, str] = {
    "theory-iterations": "iterations",
    "theory-advantage": "advantage",
    "headline": "headline",
    "measured-vs-bound": "tightness",
    "delay-distributions": "delay_hist",
    "threshold": "threshold",
    "hunter": "hunter_fig",
    "digits": "digits",
    "seconds-vs-workers": "seconds_workers",
    "seconds-vs-heterogeneity": "seconds_hetero",
    "steps-and-seconds": "steps_seconds",
    "compute-delays": "compute_delays",
    "digits-seconds": "digits_seconds",
}
NAMES: tuple[str, ...] = tuple(_MODULES)

__all__ = ["NAMES", "PROFILES", "Context", "Table", "generate", "get", "module"]


def get(name: str) -> ModuleType:
    """The module of figure ``name`` (NAME, TITLE, compute, plot); ValueError naming the figures."""
    if name not in _MODULES:
        raise ValueError(f"--only: unknown figure {name!r}; figures: {', '.join(NAMES)}")
    return importlib.import_module(f".{_MODULES[name]}", __name__)


module = get


def generate(*args, **kwargs):  # noqa: D103 - see pipeline.generate
    from .pipeline import generate as _generate

    return _generate(*args, **kwargs)


generate.__doc__ = "See :func:`verify.figures.pipeline.generate`."
