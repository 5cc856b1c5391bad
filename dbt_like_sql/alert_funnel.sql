-- description: Alert funnel per venue and time bucket: alerts sent, opened, tapped to reserve, bookings confirmed, conversion rates and time-to-action percentiles.
-- materialized: table
-- group: dining
-- column provider VARCHAR: reservation platform
-- column venue_id VARCHAR: venue of the drop the alert was about
-- column venue_name VARCHAR: venue name
-- column time_bucket VARCHAR: prime or off_peak (of the dropped slot)
-- column computed_at TIMESTAMP: the clock instant (UTC) of the rebuild
-- column alerts_sent INTEGER: (drop, user) pairs with an alert_sent
-- column alerts_opened INTEGER: pairs with an alert_opened
-- column taps_to_reserve INTEGER: pairs with a tap_to_reserve
-- column bookings_confirmed INTEGER: pairs with a booking_confirmed
-- column open_rate DOUBLE: alerts_opened / alerts_sent
-- column tap_rate DOUBLE: taps_to_reserve / alerts_opened
-- column booking_rate DOUBLE: bookings_confirmed / taps_to_reserve
-- column sent_to_booking_rate DOUBLE: bookings_confirmed / alerts_sent
-- column p50_seconds_to_tap DOUBLE: median seconds from alert_sent to tap_to_reserve
-- column p90_seconds_to_tap DOUBLE: 90th percentile seconds from alert_sent to tap_to_reserve
-- column p50_seconds_to_booking DOUBLE: median seconds from alert_sent to booking_confirmed
-- column p90_seconds_to_booking DOUBLE: 90th percentile seconds from alert_sent to booking_confirmed
with pairs as (
    select a.slot_event_id, a.user_token,
           min(case when a.event_type = 'alert_sent' then a.occurred_epoch end) as sent,
           min(case when a.event_type = 'alert_opened' then a.occurred_epoch end) as opened,
           min(case when a.event_type = 'tap_to_reserve' then a.occurred_epoch end) as tapped,
           min(case when a.event_type = 'booking_confirmed' then a.occurred_epoch end) as booked
    from {{ source('alert_events') }} a
    group by a.slot_event_id, a.user_token
),
joined as (
    select e.provider, e.venue_id, e.venue_name, e.time_bucket, p.*
    from pairs p join {{ source('slot_events') }} e on e.event_id = p.slot_event_id
),
agg as (
    select provider, venue_id, max(venue_name) as venue_name, time_bucket,
           sum(case when sent is not null then 1 else 0 end) as n_sent,
           sum(case when opened is not null then 1 else 0 end) as n_opened,
           sum(case when tapped is not null then 1 else 0 end) as n_tapped,
           sum(case when booked is not null then 1 else 0 end) as n_booked,
           percentile_cont(0.5) within group (order by tapped - sent) as p50_tap,
           percentile_cont(0.9) within group (order by tapped - sent) as p90_tap,
           percentile_cont(0.5) within group (order by booked - sent) as p50_book,
           percentile_cont(0.9) within group (order by booked - sent) as p90_book
    from joined group by provider, venue_id, time_bucket
)
select provider, venue_id, venue_name, time_bucket, cast(:run_at as timestamp) as computed_at,
       n_sent as alerts_sent, n_opened as alerts_opened, n_tapped as taps_to_reserve, n_booked as bookings_confirmed,
       cast(round(cast(case when n_sent > 0 then 1.0 * n_opened / n_sent end as numeric(18, 6)), 4) as double precision) as open_rate,
       cast(round(cast(case when n_opened > 0 then 1.0 * n_tapped / n_opened end as numeric(18, 6)), 4) as double precision) as tap_rate,
       cast(round(cast(case when n_tapped > 0 then 1.0 * n_booked / n_tapped end as numeric(18, 6)), 4) as double precision) as booking_rate,
       cast(round(cast(case when n_sent > 0 then 1.0 * n_booked / n_sent end as numeric(18, 6)), 4) as double precision) as sent_to_booking_rate,
       cast(round(cast(p50_tap as numeric(18, 6)), 3) as double precision) as p50_seconds_to_tap,
       cast(round(cast(p90_tap as numeric(18, 6)), 3) as double precision) as p90_seconds_to_tap,
       cast(round(cast(p50_book as numeric(18, 6)), 3) as double precision) as p50_seconds_to_booking,
       cast(round(cast(p90_book as numeric(18, 6)), 3) as double precision) as p90_seconds_to_booking
from agg
