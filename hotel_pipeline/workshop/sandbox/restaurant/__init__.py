"""A Resos-shaped restaurant bookings API on loopback, and bookings generated from a hotel's room nights."""
