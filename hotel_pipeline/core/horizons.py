"""The pipeline's fixed spans, named once: every board, snapshot and check derives its horizon from these."""

from __future__ import annotations

from datetime import date

#: Stay dates on a board or in a snapshot: T .. T + HORIZON_DAYS - 1 (the next 365 nights).
HORIZON_DAYS = 365

#: First business date of a hotel's history when neither the hotel nor the portfolio names one (``history_start``):
#: where full PMS extracts start and the historian's daily partitions begin.
DEFAULT_HISTORY_START = date(2013, 1, 1)

#: Bind parameters every SQL model run gets, so no model spells a horizon as a literal.
SQL_CONSTANTS = {"horizon_last_day": HORIZON_DAYS - 1}
