"""The PMS vendors the pipeline speaks to: one name per vendor, shared by the connectors and the sandbox."""

PMS_VENDORS = ("mews", "cloudbeds", "opera", "rms", "stayntouch", "newbook", "beds24")
