"""Drift between a reference distribution and recent traffic (PSI, KS)."""
