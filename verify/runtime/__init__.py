"""Runtime: running many simulations -- one simulation as `picky simulate` runs it, executors (processes, Dask), sweeps, the real asynchronous server."""
