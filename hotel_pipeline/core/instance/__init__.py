"""The Dagster instance's storage for the embedded default (see ``data/dagster_instance.yaml``)."""
