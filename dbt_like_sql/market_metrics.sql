-- description: Market-wide drop metrics over the 14 days up to the clock, one row per metric and dimension value (long format).
-- materialized: incremental
-- unique_key: computed_at, metric, dimension, dimension_value
-- group: dining
-- column computed_at TIMESTAMP: the clock instant (UTC) the window ends at
-- column window_start TIMESTAMP: computed_at - 14 days
-- column metric VARCHAR: drops_per_hour, drops, prime_time_volatility_index, forward_availability_density, supply_compression
-- column dimension VARCHAR: market, observed_local_hour, neighborhood, weekday, horizon
-- column dimension_value VARCHAR: the dimension's value (hour 0-23, neighbourhood, weekday 0=Sunday..6, all, weekend, next_14_days)
-- column value DOUBLE: the metric's value (see docs/dining.md for each formula)
-- column baseline_value DOUBLE: supply_compression only: slots open at the days' first polls
-- column change_pct DOUBLE: supply_compression only: 100 * (value / baseline_value - 1); -34 reads "supply tightened 34%"
with params as (
    select cast(:run_at as timestamp) as run_at, cast(:run_at as timestamp) - interval '14 days' as window_start
),
ev as (
    select e.* from {{ source('slot_events') }} e, params p
    where e.observed_at > p.window_start and e.observed_at <= p.run_at
),
span as (
    select (extract(epoch from p.run_at) - extract(epoch from greatest(min(e.observed_at), p.window_start))) / 3600.0 as hours
    from ev e cross join params p group by p.run_at, p.window_start
),
drops as (select * from ev where event_type = 'NEW_DROP'),
days as (select distinct observed_local_date as d from ev),
daily_prime as (
    select dd.d, count(x.event_id) as n
    from days dd left join drops x on x.observed_local_date = dd.d and x.time_bucket = 'prime'
    group by dd.d
),
forward as (
    select s.* from {{ source('dining_slot_state') }} s, params p
    where s.status = 'open' and s.slot_date >= cast(p.run_at as date) and s.slot_date < cast(p.run_at as date) + 14
),
forward_keys as (
    select count(*) as n from {{ source('dining_poll_state') }} s, params p
    where s.slot_date >= cast(p.run_at as date) and s.slot_date < cast(p.run_at as date) + 14 and s.successes > 0
),
baseline_days as (
    select distinct slot_date, cast(extract(dow from slot_date) as integer) as dow
    from {{ source('slot_events') }} e, params p
    where e.event_type = 'BASELINE_AVAILABLE' and e.slot_date >= cast(p.run_at as date)
      and e.slot_date < cast(p.run_at as date) + 14
),
supply as (
    select case when bd.dow in (0, 5, 6) then 'weekend' else 'weekday' end as part,
           (select count(*) from forward f where f.slot_date = bd.slot_date) as now_open,
           (select count(*) from {{ source('slot_events') }} b where b.slot_date = bd.slot_date
              and b.event_type = 'BASELINE_AVAILABLE') as at_baseline
    from baseline_days bd
),
supply_rows as (
    select part as dimension_value, sum(now_open) as now_open, sum(at_baseline) as at_baseline from supply group by part
    union all
    select 'next_14_days', sum(now_open), sum(at_baseline) from supply
),
metrics as (
    select 'drops_per_hour' as metric, 'market' as dimension, 'all' as dimension_value,
           case when max(s.hours) > 0 then count(d.event_id) / max(s.hours) end as value,
           cast(null as double precision) as baseline_value
    from span s left join drops d on 1 = 1
    union all
    select 'drops_per_hour', 'observed_local_hour', cast(observed_local_hour as varchar),
           1.0 * count(*) / (select count(*) from days), null
    from drops group by observed_local_hour
    union all
    select 'drops', 'neighborhood', neighborhood, 1.0 * count(*), null from drops group by neighborhood
    union all
    select 'drops', 'weekday', cast(cast(extract(dow from observed_local_date) as integer) as varchar), 1.0 * count(*), null
    from drops group by cast(extract(dow from observed_local_date) as integer)
    union all
    select 'prime_time_volatility_index', 'market', 'all',
           case when avg(n) > 0 then 100.0 * stddev_samp(n) / avg(n) end, null
    from daily_prime
    union all
    select 'forward_availability_density', 'horizon', 'next_14_days',
           case when (select n from forward_keys) > 0 then 1.0 * (select count(*) from forward) / (select n from forward_keys) end,
           null
    union all
    select 'supply_compression', 'horizon', dimension_value, 1.0 * now_open, 1.0 * at_baseline from supply_rows
)
select p.run_at as computed_at, p.window_start, m.metric, m.dimension, m.dimension_value,
       cast(round(cast(m.value as numeric(18, 6)), 3) as double precision) as value,
       cast(round(cast(m.baseline_value as numeric(18, 6)), 3) as double precision) as baseline_value,
       cast(round(cast(case when m.metric = 'supply_compression' and m.baseline_value > 0
                            then 100.0 * (m.value / m.baseline_value - 1) end as numeric(18, 6)), 3) as double precision) as change_pct
from metrics m cross join params p
