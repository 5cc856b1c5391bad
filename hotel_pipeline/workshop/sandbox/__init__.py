"""Loopback sandboxes that speak real vendors' APIs over the bundled data set (see ``sandbox.pms``)."""
