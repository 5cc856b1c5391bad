"""Webhooks: the live layer's pulse. Vendors call us when a booking changes; the receiver (``receiver``) stores the
hint durably and answers at once, and the webhook sensor's run (``apply``) fetches the named records through the PMS
connectors and updates ``reservations``, ``daily_metrics`` and ``pickup`` for the stay dates they touch.
Webhooks are hints, never the only path: the incremental pulls and reconciliation keep running.
"""
