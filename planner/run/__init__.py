"""Many independent solves: where they run (executor) and what they answer (sweep)."""
