-- description: Historian: for each snapshot date S in [:snapshot_start, :snapshot_end], rooms sold per stay date S..S+364 as of the end of S-1, reconstructed from booking history.
-- materialized: append_partition
-- asset: python
-- group: pacing
-- unique_key: hotel_id, snapshot_date, stay_date
-- partition_by: snapshot_date
-- column hotel_id VARCHAR: portfolio hotel id
-- column snapshot_date DATE: the business date photographed (state at about 03:00 on it: every event dated S-1 or earlier)
-- column stay_date DATE: the night, S..S+364
-- column rooms_sold INTEGER: room nights on the books for stay_date as of S
-- column capacity_count INTEGER: rooms of the hotel
-- column net_revenue DOUBLE: net room revenue on the books, rounded to cents
-- column gross_revenue DOUBLE: gross room revenue; null where no source gives tax
-- column origin VARCHAR: recorded (photographed by the 03:00 recorder) or reconstructed (rebuilt from booking history)
-- column recorded_at TIMESTAMP: when the row was written (UTC)
-- Vectorised for a whole range in one statement: each night contributes +1 on the first snapshot that sees it and -1 on
-- the first that no longer does, both clamped into the snapshots whose horizon holds its stay date; a running sum over
-- the dense (hotel, stay_date, snapshot_date) grid then gives every cell without a join per snapshot. The hotels are
-- those with ids in [:hotel_first, :hotel_last]: a portfolio is rebuilt a slice of hotels at a time, so the grid of one
-- statement, and its memory, stay the same size however many hotels there are.
with bounds as (
    select cast(:snapshot_start as date) as s0, cast(:snapshot_end as date) as s1
),
windows as (
    -- snapshots whose 365-day horizon covers the night: S in [stay_date - 364, stay_date], within the requested range
    select n.*,
           greatest(n.stay_date - cast(:horizon_last_day as integer), b.s0) as lo,
           least(n.stay_date, b.s1) as hi
    from {{ ref('reservation_nights') }} n
    cross join bounds b
    where n.hotel_id between :hotel_first and :hotel_last
),
spans as (
    select hotel_id, stay_date, net_rate, gross_rate, hi,
           greatest(booked_on + 1, lo) as first_s,
           least(coalesce(off_books_on + 1, hi + 1), hi + 1) as end_s
    from windows
    where lo <= hi
),
events as (
    select hotel_id, stay_date, first_s as snapshot_date, 1 as delta, net_rate as net_delta, gross_rate as gross_delta,
           case when gross_rate is null then 0 else 1 end as gross_n
    from spans where first_s < end_s
    union all
    select hotel_id, stay_date, end_s, -1, -net_rate, -gross_rate,
           case when gross_rate is null then 0 else -1 end
    from spans where first_s < end_s and end_s <= hi
),
deltas as (
    select hotel_id, stay_date, snapshot_date, sum(delta) as delta, sum(net_delta) as net_delta,
           sum(gross_delta) as gross_delta, sum(gross_n) as gross_n
    from events
    group by hotel_id, stay_date, snapshot_date
),
grid as (
    select h.hotel_id, h.capacity, b.s0 + cast(s.i as integer) as snapshot_date,
           b.s0 + cast(s.i as integer) + cast(d.i as integer) as stay_date
    from {{ source('hotels') }} h
    cross join bounds b
    -- every snapshot date of the requested range, however long (no cap on a backfill)
    cross join generate_series(0, cast(:snapshot_end as date) - cast(:snapshot_start as date)) as s(i)
    cross join generate_series(0, cast(:horizon_last_day as integer)) as d(i)
    where h.hotel_id between :hotel_first and :hotel_last
),
running as (
    select g.hotel_id, g.snapshot_date, g.stay_date, g.capacity,
           sum(coalesce(x.delta, 0)) over w as rooms_sold,
           sum(coalesce(x.net_delta, 0)) over w as net_revenue,
           sum(x.gross_delta) over w as gross_revenue,
           sum(coalesce(x.gross_n, 0)) over w as gross_n
    from grid g
    left join deltas x
      on x.hotel_id = g.hotel_id and x.stay_date = g.stay_date and x.snapshot_date = g.snapshot_date
    window w as (partition by g.hotel_id, g.stay_date order by g.snapshot_date rows between unbounded preceding and current row)
)
select hotel_id, snapshot_date, stay_date,
       cast(rooms_sold as integer) as rooms_sold,
       capacity as capacity_count,
       cast(round(cast(net_revenue as decimal(18, 6)), 2) as double precision) as net_revenue,
       case when gross_n > 0 then cast(round(cast(gross_revenue as decimal(18, 6)), 2) as double precision) end as gross_revenue,
       'reconstructed' as origin,
       cast(:run_at as timestamp) as recorded_at
from running
