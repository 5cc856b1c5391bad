"""The channel domain: sell the hotel's rooms through Beds24 with nothing lost and nothing sent twice.

``availability`` computes what may be sold (``channel_availability``); ``calendar`` and ``bookings`` turn what changed
into rows of the durable ``outbox``; ``drain`` sends them through ``client`` within Beds24's credit budget;
``reconcile`` reads Beds24 back and records ``channel_drift``. ``config`` maps room types and rate plans to Beds24.
See docs/channel.md.
"""
