"""Search: Hypothesis strategies, the targeted search of the claims, the conjecture hunter."""
