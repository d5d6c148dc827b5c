"""Model: what can serve what (serving), the LP/MILP as arrays (linear, build), the
solver hand-off (solver), the lexicographic tiers (tiers) and the plan's tables (plan)."""
