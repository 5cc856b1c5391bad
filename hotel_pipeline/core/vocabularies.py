"""The unified model's vocabularies, declared once: every source normaliser, contract and check imports them.

Why one place: a status or meal plan spelled differently in a connector and in the contract would pass the one and
fail the other (or worse, pass both and count a night wrongly).
"""

from __future__ import annotations

#: Reservation statuses every source is normalised to.
STATUSES: tuple[str, ...] = ("confirmed", "checked_in", "checked_out", "cancelled", "no_show")
#: Statuses that take a booking off the books; ``cancelled_on`` is set exactly for them.
OFF_THE_BOOKS: tuple[str, ...] = ("cancelled", "no_show")
#: Meal plans every source is normalised to: room only, bed and breakfast, half board, full board, or unknown.
MEAL_PLANS: tuple[str, ...] = ("RO", "BB", "HB", "FB", "unknown")
#: Plans that include dinner (``is_dbb``).
DINNER_PLANS: tuple[str, ...] = ("HB", "FB")
#: Plans that include breakfast.
BREAKFAST_PLANS: tuple[str, ...] = ("BB", "HB", "FB")

#: The lists a SQL model may name as ``{{ vocabulary('name') }}``: a model cannot import, so the runner writes the list
#: in (``('HB', 'FB')``) and no model spells a meal plan or a status itself.
SQL_VOCABULARIES: dict[str, tuple[str, ...]] = {
    "statuses": STATUSES, "off_the_books": OFF_THE_BOOKS, "meal_plans": MEAL_PLANS, "dinner_plans": DINNER_PLANS,
    "breakfast_plans": BREAKFAST_PLANS,
}
