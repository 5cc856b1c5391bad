-- description: Per venue, rolling 14 days up to the clock: drop frequency, drop durations, fully booked prime days, volatility and a 0-100 scarcity score.
-- materialized: incremental
-- unique_key: venue_id, computed_at
-- group: dining
-- column provider VARCHAR: reservation platform
-- column venue_id VARCHAR: the platform's venue id
-- column venue_name VARCHAR: venue name (latest seen)
-- column neighborhood VARCHAR: location.neighborhood
-- column price_range INTEGER: 1-4
-- column computed_at TIMESTAMP: the clock instant (UTC) the window ends at
-- column window_start TIMESTAMP: computed_at - 14 days
-- column observed_days DOUBLE: days of the window the venue was polled (from its first event in the window to computed_at)
-- column drops INTEGER: NEW_DROP events in the window
-- column prime_drops INTEGER: NEW_DROP events of prime seatings (19:00-21:00)
-- column drop_frequency_per_day DOUBLE: drops / observed_days
-- column prime_time_drop_frequency DOUBLE: prime_drops / observed_days
-- column closed_drops INTEGER: CLOSED events of drop lifecycles in the window (durations known)
-- column avg_drop_duration_seconds DOUBLE: mean duration_seconds of closed drops (measured to the poll interval)
-- column median_drop_duration_seconds DOUBLE: median duration_seconds of closed drops
-- column polled_days INTEGER: slot dates polled in the window (any party size)
-- column percent_days_fully_booked DOUBLE: 100 * share of polled slot dates with no prime NEW_DROP
-- column volatility_score DOUBLE: sample standard deviation of daily drop counts (venue-local observed date, zero days included)
-- column scarcity_score DOUBLE: 0-100, 40% fewest drops/day + 30% shortest mean drop + 30% percent_days_fully_booked (min-max over venues)
with params as (
    select cast(:run_at as timestamp) as run_at, cast(:run_at as timestamp) - interval '14 days' as window_start
),
ev as (
    select e.* from {{ source('slot_events') }} e, params p
    where e.observed_at > p.window_start and e.observed_at <= p.run_at
),
venues as (
    select provider, venue_id, max(venue_name) as venue_name, max(neighborhood) as neighborhood,
           max(price_range) as price_range, min(observed_at) as first_seen
    from ev group by provider, venue_id
),
drops as (
    select provider, venue_id,
           sum(case when event_type = 'NEW_DROP' then 1 else 0 end) as drops,
           sum(case when event_type = 'NEW_DROP' and time_bucket = 'prime' then 1 else 0 end) as prime_drops,
           sum(case when event_type = 'CLOSED' then 1 else 0 end) as closed_drops,
           avg(case when event_type = 'CLOSED' then duration_seconds end) as avg_duration,
           percentile_cont(0.5) within group (order by case when event_type = 'CLOSED' then duration_seconds end) as median_duration
    from ev where lifecycle = 'drop' group by provider, venue_id
),
days as (
    select distinct observed_local_date as d from ev
),
daily as (
    select v.provider, v.venue_id, dd.d, count(e.event_id) as n
    from venues v cross join days dd
    left join ev e on e.provider = v.provider and e.venue_id = v.venue_id and e.observed_local_date = dd.d
                   and e.event_type = 'NEW_DROP'
    group by v.provider, v.venue_id, dd.d
),
volatility as (
    select provider, venue_id, stddev_samp(n) as volatility from daily group by provider, venue_id
),
polled as (
    select s.provider, s.venue_id, s.slot_date
    from {{ source('dining_poll_state') }} s, params p
    where s.baseline_at <= p.run_at and s.slot_date >= cast(p.window_start as date) and s.successes > 0
    group by s.provider, s.venue_id, s.slot_date
),
booked as (
    select pd.provider, pd.venue_id, count(*) as polled_days,
           sum(case when not exists (
                   select 1 from ev e where e.provider = pd.provider and e.venue_id = pd.venue_id
                   and e.slot_date = pd.slot_date and e.event_type = 'NEW_DROP' and e.time_bucket = 'prime')
               then 1 else 0 end) as fully_booked_days
    from polled pd group by pd.provider, pd.venue_id
),
base as (
    select v.provider, v.venue_id, v.venue_name, v.neighborhood, v.price_range, p.run_at, p.window_start,
           (extract(epoch from p.run_at) - extract(epoch from greatest(v.first_seen, p.window_start))) / 86400.0 as observed_days,
           coalesce(d.drops, 0) as drops, coalesce(d.prime_drops, 0) as prime_drops,
           coalesce(d.closed_drops, 0) as closed_drops, d.avg_duration, d.median_duration,
           coalesce(b.polled_days, 0) as polled_days,
           case when b.polled_days > 0 then 100.0 * b.fully_booked_days / b.polled_days end as pct_booked,
           coalesce(vo.volatility, 0) as volatility
    from venues v cross join params p
    left join drops d on d.provider = v.provider and d.venue_id = v.venue_id
    left join booked b on b.provider = v.provider and b.venue_id = v.venue_id
    left join volatility vo on vo.provider = v.provider and vo.venue_id = v.venue_id
),
rates as (
    select base.*,
           case when observed_days > 0 then drops / observed_days end as freq,
           case when observed_days > 0 then prime_drops / observed_days end as prime_freq
    from base
),
scaled as (
    select rates.*,
           case when max(freq) over () > min(freq) over ()
                then (freq - min(freq) over ()) / (max(freq) over () - min(freq) over ()) else 0.5 end as freq_scaled,
           case when max(avg_duration) over () > min(avg_duration) over ()
                then (avg_duration - min(avg_duration) over ()) / (max(avg_duration) over () - min(avg_duration) over ())
                else 0.5 end as duration_scaled
    from rates
)
select provider, venue_id, venue_name, neighborhood, price_range, run_at as computed_at, window_start,
       cast(round(cast(observed_days as numeric(18, 6)), 3) as double precision) as observed_days,
       drops, prime_drops,
       cast(round(cast(freq as numeric(18, 6)), 3) as double precision) as drop_frequency_per_day,
       cast(round(cast(prime_freq as numeric(18, 6)), 3) as double precision) as prime_time_drop_frequency,
       closed_drops,
       cast(round(cast(avg_duration as numeric(18, 6)), 3) as double precision) as avg_drop_duration_seconds,
       cast(round(cast(median_duration as numeric(18, 6)), 3) as double precision) as median_drop_duration_seconds,
       polled_days,
       cast(round(cast(pct_booked as numeric(18, 6)), 3) as double precision) as percent_days_fully_booked,
       cast(round(cast(volatility as numeric(18, 6)), 3) as double precision) as volatility_score,
       cast(round(cast(100.0 * (0.4 * (1 - coalesce(freq_scaled, 0.5)) + 0.3 * (1 - coalesce(duration_scaled, 0.5))
                                + 0.3 * coalesce(pct_booked, 0) / 100.0) as numeric(18, 6)), 3) as double precision) as scarcity_score
from scaled
