-- description: What the restaurant acts on for the next 14 nights: residents with dinner included and no table booked, and table bookings that match no resident.
-- materialized: table
-- group: occupancy
-- column hotel_id VARCHAR: portfolio hotel id
-- column stay_date DATE: the night / the date of the meal
-- column gap_kind VARCHAR: dbb_without_booking (a resident with dinner included has no table) or booking_without_resident (a table matches no resident of that night)
-- column hotel_source VARCHAR: source of the resident's hotel booking (dbb_without_booking)
-- column hotel_external_id VARCHAR: the resident's hotel booking number (or the number the table booking carries)
-- column room_number VARCHAR: the resident's room tonight, or the room the table booking names
-- column guest_display VARCHAR: the no-name label of the resident ("Guest, room 101")
-- column covers INTEGER: the resident's adults + children, or the table's covers
-- column restaurant_source VARCHAR: source of the table booking (booking_without_resident)
-- column restaurant_booking_id VARCHAR: the table booking's id
-- column booking_time VARCHAR: time of the table booking
-- column reason VARCHAR: why it is listed: dinner included, no table; no hotel reference (an outside guest, or a resident who did not say); or the booking number / room matches no resident that night
-- column as_of_date DATE: the hotel business date T
with horizon as (
    select hotel_id, business_date from {{ source('hotels') }}
),
active as (
    select * from {{ ref('restaurant_bookings') }}
    where status is null or status not in ('canceled', 'cancelled', 'declined', 'no_show')
)
select n.hotel_id, n.stay_date, 'dbb_without_booking' as gap_kind, n.source as hotel_source,
       n.external_id as hotel_external_id, n.room_number, n.guest_display,
       cast(coalesce(n.adults, 0) + coalesce(n.children, 0) as integer) as covers,
       cast(null as varchar) as restaurant_source, cast(null as varchar) as restaurant_booking_id,
       cast(null as varchar) as booking_time, 'dinner included, no table booked' as reason,
       h.business_date as as_of_date
from {{ ref('room_nights') }} n
join horizon h on h.hotel_id = n.hotel_id
where n.dinner_included
  and n.stay_date >= h.business_date and n.stay_date < h.business_date + 14
  and not exists (select 1 from active a
                  where a.hotel_id = n.hotel_id and a.matched_source = n.source
                    and a.matched_external_id = n.external_id and a.booking_date = n.stay_date)
union all
select a.hotel_id, a.booking_date, 'booking_without_resident', cast(null as varchar), a.hotel_booking_ref,
       a.room_number, cast(null as varchar), a.covers, a.source, a.booking_id, a.booking_time,
       case when a.hotel_booking_ref is null and a.room_number is null then 'no hotel reference'
            when a.hotel_booking_ref is not null then 'booking number matches no resident that night'
            else 'room matches no resident that night' end,
       h.business_date
from active a
join horizon h on h.hotel_id = a.hotel_id
where a.match_method is null
  and a.booking_date >= h.business_date and a.booking_date < h.business_date + 14
