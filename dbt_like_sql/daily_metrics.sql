-- description: Live layer: rooms sold and revenue per hotel and stay date, dense from the hotel's business date T to T+364, as of the end of T-1.
-- materialized: table
-- group: pacing
-- column hotel_id VARCHAR: portfolio hotel id
-- column stay_date DATE: the night, from as_of_date to as_of_date + 364
-- column rooms_sold INTEGER: room nights on the books (0 where nothing is sold)
-- column capacity_count INTEGER: rooms of the hotel (portfolio)
-- column net_revenue DOUBLE: sum of the nightly net rates on the books, rounded to cents
-- column gross_revenue DOUBLE: sum of the nightly gross rates; null where no source gives tax
-- column updated_at TIMESTAMP: when this board was rebuilt (UTC)
-- column as_of_date DATE: the hotel's business date T the board was built for (events up to T-1 count)
with horizon as (
    select h.hotel_id, h.capacity, h.business_date, h.business_date + cast(g.i as integer) as stay_date
    from {{ source('hotels') }} h
    cross join generate_series(0, cast(:horizon_last_day as integer)) as g(i)
),
on_books as (
    select n.hotel_id, n.stay_date,
           count(*) as rooms_sold,
           sum(n.net_rate) as net_revenue,
           sum(n.gross_rate) as gross_revenue
    from {{ ref('reservation_nights') }} n
    join {{ source('hotels') }} h on h.hotel_id = n.hotel_id
    where n.stay_date between h.business_date and h.business_date + cast(:horizon_last_day as integer)
      and n.booked_on <= h.business_date - 1
      and (n.off_books_on is null or n.off_books_on > h.business_date - 1)
    group by n.hotel_id, n.stay_date
)
select z.hotel_id, z.stay_date,
       cast(coalesce(o.rooms_sold, 0) as integer) as rooms_sold,
       z.capacity as capacity_count,
       cast(round(cast(coalesce(o.net_revenue, 0) as decimal(18, 6)), 2) as double precision) as net_revenue,
       cast(round(cast(o.gross_revenue as decimal(18, 6)), 2) as double precision) as gross_revenue,
       cast(:run_at as timestamp) as updated_at,
       z.business_date as as_of_date
from horizon z
left join on_books o on o.hotel_id = z.hotel_id and o.stay_date = z.stay_date
