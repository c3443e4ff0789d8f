"""Optional dependencies in one place: which extra installs each, and one error when it is missing.

Every import of an optional dependency goes through :func:`require` (or is checked first with
:func:`check`, which does not import it), so that a missing one ends in one line naming the extra
to install -- ``--local-cluster needs the dask extra: pip install -e '.[dask]'`` -- which the
command line reports as a user error (exit 2), never as an internal error.

To add one: a line in :data:`EXTRAS` (the top-level module name -> the extra of pyproject.toml
that installs it).
"""
from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType

__all__ = ["EXTRAS", "MissingDependency", "require", "check", "install_hint"]

#: top-level import name -> the extra (pyproject.toml ``[project.optional-dependencies]``) that installs it
EXTRAS: dict[str, str] = {
    "dask": "dask",
    "distributed": "dask",
    "sklearn": "figures",
    "threadpoolctl": "figures",
    "PEPit": "worstcase",
    "cvxpy": "worstcase",
    "clarabel": "worstcase",
    "scs": "worstcase",
}


class MissingDependency(ModuleNotFoundError):
    """An optional dependency is not installed; the message names the extra that installs it."""


def install_hint(extra: str) -> str:
    return f"pip install -e '.[{extra}]'"


def _error(module: str, feature: str, missing: str | None = None) -> MissingDependency:
    top = module.split(".")[0]
    extra = EXTRAS[top]
    gone = missing or top
    return MissingDependency(f"{feature} needs the {extra} extra: {install_hint(extra)} "
                             f"(no module named {gone!r})", name=gone)


def check(module: str, feature: str) -> None:
    """Raise :class:`MissingDependency` at once if ``module`` cannot be found (without importing it:
    for the checks a command makes before any work)."""
    top = module.split(".")[0]
    if top not in EXTRAS:
        raise KeyError(f"{top!r} is not an optional dependency listed in verify.optional.EXTRAS")
    try:
        found = importlib.util.find_spec(top) is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise _error(module, feature)


def require(module: str, feature: str) -> ModuleType:
    """``import module`` (an optional dependency), or :class:`MissingDependency` naming the extra.
    ``feature``: what needs it, as the user asked for it (``"--local-cluster"``, ``"figure 'digits'"``)."""
    top = module.split(".")[0]
    if top not in EXTRAS:
        raise KeyError(f"{top!r} is not an optional dependency listed in verify.optional.EXTRAS")
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        raise _error(module, feature, exc.name) from None
