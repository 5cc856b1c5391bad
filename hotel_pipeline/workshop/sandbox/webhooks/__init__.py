"""The sandbox vendors' webhook senders: when the sandbox world's clock moves, each vendor calls the receiver about the
bookings created, changed or cancelled in between, in its own body and authentication, with duplicates and retries."""
