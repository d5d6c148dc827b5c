"""Scenario: the YAML a team writes, read with line numbers and checked against the
catalog (read); its purchase kinds (kinds) and futures (uncertainty)."""
