-- description: One row per booked night of every reservation, with the business dates between which it is on the books.
-- materialized: table
-- group: pacing
-- column hotel_id VARCHAR: portfolio hotel id
-- column source VARCHAR: source of the reservation
-- column external_id VARCHAR: the source's reservation id
-- column stay_date DATE: the night
-- column booked_on DATE: the night is on the books as of the end of every business date E >= booked_on ...
-- column off_books_on DATE: ... and E < off_books_on (cancellation, or a check-out on or before this night); null = still on the books
-- column net_rate DOUBLE: net room revenue of this night (net_amount / nights)
-- column gross_rate DOUBLE: gross room revenue of this night; null where the source has no tax figure
-- column is_dbb BOOLEAN: dinner included
-- column room_number VARCHAR: assigned room; null where unknown
-- The contract's rule, per night D and as-of date E: booked_on <= E, not cancelled on or before E, and not checked out on
-- or before min(E, D). A check-out after D never removes D; one on or before D removes it from that day on.
select r.hotel_id, r.source, r.external_id,
       r.arrival_date + cast(g.i as integer) as stay_date,
       r.booked_on,
       least(r.cancelled_on,
             case when r.checked_out_on <= r.arrival_date + cast(g.i as integer) then r.checked_out_on end) as off_books_on,
       r.net_amount / r.nights as net_rate,
       r.gross_amount / r.nights as gross_rate,
       r.is_dbb,
       r.room_number
from {{ ref('reservations') }} r
cross join lateral generate_series(0, r.nights - 1) as g(i)
where r.nights > 0
