"""Input/output: atomic result directories, the run store, run records, the JSON policy, the spec grammar, provenance, progress."""
