"""Running solves: one scenario end to end (pipeline), many (sweep, on local workers or
Ray through executor), and the timed fleet benchmark (bench)."""
