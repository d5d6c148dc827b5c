"""Catalog: the CSV tables of prices, chips, models and measured throughput (read), the
tools that write them (skypilot, benchimport) and the coverage they give (check)."""
