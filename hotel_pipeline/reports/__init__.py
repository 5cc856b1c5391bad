"""Reports: the pace report per hotel (booking curves, pickup, pace vs last year, occupancy and ADR, health)."""
