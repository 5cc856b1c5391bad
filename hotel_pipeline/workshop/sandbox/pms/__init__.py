"""The PMS sandbox: a world model of the data set at a settable clock, an HTTP server with one prefix per vendor,
seeded faults and throttles, and one handler module per vendor under ``vendors/``."""
