-- description: Pickup and pace per hotel and future stay date, as of the hotel's business date T: live board minus the historian's snapshots T-1, T-7, T-30 and same time last year (364 days, weekday-aligned).
-- materialized: table
-- group: pacing
-- column hotel_id VARCHAR: portfolio hotel id
-- column as_of_date DATE: the hotel's business date T
-- column stay_date DATE: the night, T..T+364
-- column rooms_sold INTEGER: rooms on the books now (live layer)
-- column pickup_1d INTEGER: rooms_sold minus the snapshot of T-1 for the same stay date; null when that snapshot is missing
-- column pickup_7d INTEGER: rooms_sold minus the snapshot of T-7; null when missing
-- column pickup_30d INTEGER: rooms_sold minus the snapshot of T-30; null when missing
-- column rooms_sold_stly INTEGER: rooms on the books for stay_date - 364 as of snapshot T - 364; null when missing
-- column pace_vs_stly INTEGER: rooms_sold - rooms_sold_stly; null when STLY is missing
-- column net_revenue DOUBLE: net room revenue on the books now
-- column revenue_pickup_1d DOUBLE: net_revenue minus that of snapshot T-1; null when missing
-- column occupancy DOUBLE: rooms_sold / capacity (4 decimals)
-- column adr DOUBLE: net_revenue / rooms_sold; null when nothing is sold
-- Pickup is per stay date against a baseline that covers that stay date; nothing is summed across stay dates.
select d.hotel_id, h.business_date as as_of_date, d.stay_date, d.rooms_sold,
       d.rooms_sold - p1.rooms_sold as pickup_1d,
       d.rooms_sold - p7.rooms_sold as pickup_7d,
       d.rooms_sold - p30.rooms_sold as pickup_30d,
       ly.rooms_sold as rooms_sold_stly,
       d.rooms_sold - ly.rooms_sold as pace_vs_stly,
       d.net_revenue,
       cast(round(cast(d.net_revenue - p1.net_revenue as decimal(18, 6)), 2) as double precision) as revenue_pickup_1d,
       cast(round(cast(d.rooms_sold as decimal(18, 6)) / d.capacity_count, 4) as double precision) as occupancy,
       case when d.rooms_sold > 0
            then cast(round(cast(d.net_revenue as decimal(18, 6)) / d.rooms_sold, 2) as double precision) end as adr
from {{ ref('daily_metrics') }} d
join {{ source('hotels') }} h on h.hotel_id = d.hotel_id and h.business_date = d.as_of_date
left join {{ ref('pacing_snapshots') }} p1
  on p1.hotel_id = d.hotel_id and p1.snapshot_date = h.business_date - 1 and p1.stay_date = d.stay_date
left join {{ ref('pacing_snapshots') }} p7
  on p7.hotel_id = d.hotel_id and p7.snapshot_date = h.business_date - 7 and p7.stay_date = d.stay_date
left join {{ ref('pacing_snapshots') }} p30
  on p30.hotel_id = d.hotel_id and p30.snapshot_date = h.business_date - 30 and p30.stay_date = d.stay_date
left join {{ ref('pacing_snapshots') }} ly
  on ly.hotel_id = d.hotel_id and ly.snapshot_date = h.business_date - 364 and ly.stay_date = d.stay_date - 364
