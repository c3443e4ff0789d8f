"""Sweeps: a declarative grid of simulations (:mod:`.spec`, a TOML file) run cell by cell on local
processes or a Dask cluster, each cell cached on disk and written atomically (:mod:`.runner`)."""
from verify.runtime.sweeps.runner import EXECUTORS, compute_cell, run
from verify.runtime.sweeps.spec import Cell, Sweep, from_dict, load

__all__ = ["Sweep", "Cell", "load", "from_dict", "run", "compute_cell", "EXECUTORS"]
