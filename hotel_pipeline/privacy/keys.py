"""The master key of the guest store: from ``HOTEL_PIPELINE_VAULT_KEY`` or a key file, never from the warehouse.

Why outside the warehouse: a copy of the warehouse (a backup, an analyst's extract) must not be enough to read a
name. The key is a Fernet key (32 random bytes, url-safe base64). ``HOTEL_PIPELINE_VAULT_KEY`` holds it directly;
otherwise it is read from ``HOTEL_PIPELINE_VAULT_KEY_FILE`` (default ``<data dir>/keys/vault.key``), which is
created with mode 0600 on first use (with a warning: right for the demo, a deployment provisions its own key).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from cryptography.fernet import Fernet

from hotel_pipeline.core import settings

log = logging.getLogger(__name__)

KEY_ENV = "HOTEL_PIPELINE_VAULT_KEY"
KEY_FILE_ENV = "HOTEL_PIPELINE_VAULT_KEY_FILE"


def key_file() -> Path:
    return Path(os.environ.get(KEY_FILE_ENV) or settings.data_dir() / "keys" / "vault.key")


def master_key() -> Fernet:
    """The Fernet that wraps every guest's data key."""
    value = os.environ.get(KEY_ENV)
    if value:
        return Fernet(value.encode())
    path = key_file()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(Fernet.generate_key())
        log.warning("created a guest-store key at %s (set %s or %s for a provisioned key)", path, KEY_ENV,
                    KEY_FILE_ENV)
    return Fernet(path.read_bytes().strip())
