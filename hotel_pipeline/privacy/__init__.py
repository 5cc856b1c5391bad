"""Guest privacy: names encrypted per guest, shown only where a hotel's policy allows, erasable, and retained no longer
than the hotel says.

- ``pii``: keyed HMAC tokens of guest identities, and PII stripped from what is quarantined;
- ``keys``: the master key (environment variable or a key file outside the warehouse);
- ``vault``: the encrypted guest store (one data key per guest, wrapped by the master key; crypto-shredding);
- ``access_log``: ``pii_access_log``, one row per production of a residents list;
- ``redaction``: removing one guest's fields from raw zone files;
- ``erasure``: the right to be forgotten (``hotel-pipeline privacy erase``), logged in ``erasure_log``;
- ``retention``: purging room-level detail and names a configurable number of days after departure.
"""
