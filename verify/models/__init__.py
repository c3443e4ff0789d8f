"""Models: the problems (exact constants), noise, delay models, sequence programs, adaptive adversaries, real traces."""
