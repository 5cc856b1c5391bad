"""Writing ``room_nights``: the model's rows replace only the nights from each hotel's business date on.

A past night keeps the rooms, board and guests it had when it was last "tonight" (until retention purges it), which
is why this is not a plain SQL model rebuild.
"""

from datetime import datetime

from hotel_pipeline.core.sql_models import model, stage_model
from hotel_pipeline.core.warehouse import Tx
from hotel_pipeline.occupancy.night_meals import NIGHT_MEALS


def write_room_nights(tx: Tx, run_at: datetime) -> int:
    """Replace the room nights from each hotel's business date on with the model's rows; earlier nights stay."""
    m = model("room_nights")
    tx.ensure_table(NIGHT_MEALS)  # empty until a vendor posts board per night
    if not tx.table_exists(m.name):
        tx.lock_ddl()
        tx.execute(m.table.ddl(tx.dialect))
    stage = stage_model(tx, m, {"run_at": run_at})
    tx.execute("DELETE FROM room_nights WHERE EXISTS (SELECT 1 FROM hotels h WHERE h.hotel_id = room_nights.hotel_id "
               "AND room_nights.stay_date >= h.business_date)")
    return tx.execute(f"INSERT INTO room_nights ({m.column_list}) SELECT {m.column_list} FROM {stage}")  # noqa: S608
