"""Dining domain: restaurant market intelligence (see docs/dining.md)."""
