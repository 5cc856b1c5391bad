"""The guest store across deliveries: an unchanged guest is left as it is, a changed one is re-encrypted under its key."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import polars as pl
import pytest

from hotel_pipeline.core.warehouse import Warehouse
from hotel_pipeline.privacy.vault import reveal, shred, store_guests


def _guests(**changes: dict[str, str | None]) -> pl.DataFrame:
    base = {"g-ann": {"first_name": "Ann", "last_name": "Doe", "email": "ann@example.org", "phone": "351 1"},
            "g-bob": {"first_name": "Bob", "last_name": "Roe", "email": "bob@example.org", "phone": None}}
    return pl.DataFrame([{"hotel_id": "H1", "source": "mews", "guest_token": token, **pii, **changes.get(token, {})}
                         for token, pii in base.items()])


def _vault(warehouse: Warehouse) -> dict[str, tuple]:
    rows = warehouse.query("SELECT v.guest_token, v.ciphertext, v.stored_at, k.wrapped_key FROM guest_vault v "
                           "JOIN guest_keys k ON k.guest_token = v.guest_token")
    return {token: rest for token, *rest in rows.iter_rows()}


@pytest.fixture(autouse=True)
def _vault_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOTEL_PIPELINE_VAULT_KEY_FILE", str(tmp_path / "vault.key"))


def test_an_unchanged_guest_is_not_stored_again_and_a_changed_one_is(warehouse: Warehouse) -> None:
    first, second = datetime(2016, 7, 18, 1), datetime(2016, 7, 18, 2)
    with warehouse.transaction() as tx:
        assert store_guests(tx, _guests(), first) == 2
    before = _vault(warehouse)

    with warehouse.transaction() as tx:  # Bob moved to a new e-mail; Ann is delivered exactly as before
        assert store_guests(tx, _guests(**{"g-bob": {"email": "bob@new.example.org"}}), second) == 1
    after = _vault(warehouse)

    assert after["g-ann"] == before["g-ann"]  # same ciphertext, same stored_at, same key
    assert after["g-bob"][0] != before["g-bob"][0] and after["g-bob"][1] == second
    assert after["g-bob"][2] == before["g-bob"][2]  # the guest keeps its data key
    with warehouse.transaction() as tx:
        people = reveal(tx, ["g-ann", "g-bob"])
        assert store_guests(tx, _guests(**{"g-bob": {"email": "bob@new.example.org"}}), second) == 0
    assert people["g-ann"]["email"] == "ann@example.org" and people["g-bob"]["email"] == "bob@new.example.org"


def test_a_guest_stored_again_after_its_vault_row_was_purged_or_it_was_erased(warehouse: Warehouse) -> None:
    with warehouse.transaction() as tx:
        store_guests(tx, _guests(), datetime(2016, 7, 18))
        shred(tx, ["g-ann"], datetime(2016, 7, 19), tombstone=False)  # retention: key and row gone
        shred(tx, ["g-bob"], datetime(2016, 7, 19), tombstone=True)  # erasure: never stored again
    with warehouse.transaction() as tx:
        assert store_guests(tx, _guests(), datetime(2016, 7, 20)) == 1
        assert set(reveal(tx, ["g-ann", "g-bob"])) == {"g-ann"}
