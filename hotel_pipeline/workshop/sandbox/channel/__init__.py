"""Sandboxes of the channel side: the Beds24 write API (calendar and bookings) that the channel push talks to."""
