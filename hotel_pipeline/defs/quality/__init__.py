"""Data quality: pandera contracts as blocking asset checks, soft anomalies as warning checks."""
