-- description: The kitchen's forecast: per hotel and night of the live horizon, occupied rooms, arrivals, departures, guests, and the covers of dinner (DBB) and breakfast included.
-- materialized: table
-- group: occupancy
-- column hotel_id VARCHAR: portfolio hotel id
-- column stay_date DATE: the night (dense from as_of_date to as_of_date + 364)
-- column occupied_rooms INTEGER: room nights on the books (= daily_metrics.rooms_sold)
-- column arrivals INTEGER: rooms arriving that day (first night of their booking)
-- column departures INTEGER: rooms leaving that morning (their last night was the night before)
-- column stayovers INTEGER: occupied rooms that were already in house the night before (occupied - arrivals)
-- column adults INTEGER: adults sleeping in the hotel that night
-- column children INTEGER: children sleeping in the hotel that night (NA counts as 0)
-- column dbb_rooms INTEGER: rooms with dinner included that evening
-- column dbb_covers INTEGER: adults + children of those rooms: the dinner covers the kitchen must plan for residents
-- column package_rooms INTEGER: rooms sold as a package
-- column breakfast_covers INTEGER: adults + children with breakfast included (served the next morning)
-- column as_of_date DATE: the hotel business date T (events up to T-1 count)
with board as (
    select hotel_id, stay_date, as_of_date from {{ ref('daily_metrics') }}
),
rooms as (
    select n.hotel_id, n.stay_date,
           count(*) as occupied_rooms,
           sum(case when n.night_index = 0 then 1 else 0 end) as arrivals,
           sum(coalesce(n.adults, 0)) as adults,
           sum(coalesce(n.children, 0)) as children,
           sum(case when n.dinner_included then 1 else 0 end) as dbb_rooms,
           sum(case when n.dinner_included then coalesce(n.adults, 0) + coalesce(n.children, 0) else 0 end) as dbb_covers,
           sum(case when n.is_package then 1 else 0 end) as package_rooms,
           sum(case when n.breakfast_included then coalesce(n.adults, 0) + coalesce(n.children, 0) else 0 end)
               as breakfast_covers
    from {{ ref('room_nights') }} n
    join board b on b.hotel_id = n.hotel_id and b.stay_date = n.stay_date and b.as_of_date = n.as_of_date
    group by n.hotel_id, n.stay_date
),
leaving as (
    select n.hotel_id, n.stay_date + 1 as stay_date, count(*) as departures
    from {{ ref('reservation_nights') }} n
    join {{ source('hotels') }} h on h.hotel_id = n.hotel_id
    join {{ ref('reservations') }} r
      on r.source = n.source and r.hotel_id = n.hotel_id and r.external_id = n.external_id
    where n.stay_date between h.business_date - 1 and h.business_date + 363
      and r.departure_date = n.stay_date + 1
      and n.booked_on <= h.business_date - 1
      and (n.off_books_on is null or n.off_books_on > h.business_date - 1)
    group by n.hotel_id, n.stay_date + 1
)
select b.hotel_id, b.stay_date,
       cast(coalesce(o.occupied_rooms, 0) as integer) as occupied_rooms,
       cast(coalesce(o.arrivals, 0) as integer) as arrivals,
       cast(coalesce(l.departures, 0) as integer) as departures,
       cast(coalesce(o.occupied_rooms, 0) - coalesce(o.arrivals, 0) as integer) as stayovers,
       cast(coalesce(o.adults, 0) as integer) as adults,
       cast(coalesce(o.children, 0) as integer) as children,
       cast(coalesce(o.dbb_rooms, 0) as integer) as dbb_rooms,
       cast(coalesce(o.dbb_covers, 0) as integer) as dbb_covers,
       cast(coalesce(o.package_rooms, 0) as integer) as package_rooms,
       cast(coalesce(o.breakfast_covers, 0) as integer) as breakfast_covers,
       b.as_of_date
from board b
left join rooms o on o.hotel_id = b.hotel_id and o.stay_date = b.stay_date
left join leaving l on l.hotel_id = b.hotel_id and l.stay_date = b.stay_date
