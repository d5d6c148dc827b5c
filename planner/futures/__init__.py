"""Futures: one first stage of commitments and contracts across sampled or listed demand
futures, as one extensive form or decomposed by future (twostage, decompose)."""
