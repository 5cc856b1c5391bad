"""Restaurant market intelligence: a Resy-style sandbox, a polite poller and the slot transition engine."""
