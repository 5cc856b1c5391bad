-- description: Restaurant bookings matched to the hotel's room nights: by the hotel booking number the booking carries, else by room and date; the method is recorded.
-- materialized: table
-- group: occupancy
-- column hotel_id VARCHAR: portfolio hotel id
-- column source VARCHAR: restaurant source (resos, restaurant_csv)
-- column booking_id VARCHAR: the restaurant system's booking id
-- column booking_date DATE: date of the meal
-- column booking_time VARCHAR: time of the meal, HH:MM
-- column covers INTEGER: people booked
-- column status VARCHAR: the restaurant system's status
-- column hotel_booking_ref VARCHAR: hotel booking number the booking carries (custom field); null if none
-- column room_number VARCHAR: room the booking names (custom field); null if none
-- column match_method VARCHAR: booking_number, room_and_date, or null when no resident of that night matches
-- column matched_source VARCHAR: source of the matched hotel booking
-- column matched_external_id VARCHAR: the matched hotel booking number
-- column matched_room VARCHAR: the room the matched booking holds that night (null if unassigned)
-- column guest_token VARCHAR: opaque token of the diner (names only in the encrypted store)
-- A booking number is matched on the night of the meal (a resident of another night is not a resident tonight);
-- a room is matched only when no booking number matched.
with rb as (
    select * from {{ source('restaurant_booking_records') }}
),
by_number as (
    select b.source, b.hotel_id, b.booking_id,
           min(n.source) as matched_source, min(n.external_id) as matched_external_id,
           min(n.room_number) as matched_room
    from rb b
    join {{ ref('room_nights') }} n
      on n.hotel_id = b.hotel_id and n.external_id = b.hotel_booking_ref and n.stay_date = b.booking_date
    group by b.source, b.hotel_id, b.booking_id
),
by_room as (
    select b.source, b.hotel_id, b.booking_id,
           min(n.source) as matched_source, min(n.external_id) as matched_external_id,
           min(n.room_number) as matched_room
    from rb b
    join {{ ref('room_nights') }} n
      on n.hotel_id = b.hotel_id and n.room_number = b.room_number and n.stay_date = b.booking_date
    where not exists (select 1 from by_number x
                      where x.source = b.source and x.hotel_id = b.hotel_id and x.booking_id = b.booking_id)
    group by b.source, b.hotel_id, b.booking_id
)
select b.hotel_id, b.source, b.booking_id, b.booking_date, b.booking_time, b.covers, b.status,
       b.hotel_booking_ref, b.room_number,
       case when x.booking_id is not null then 'booking_number'
            when y.booking_id is not null then 'room_and_date' end as match_method,
       coalesce(x.matched_source, y.matched_source) as matched_source,
       coalesce(x.matched_external_id, y.matched_external_id) as matched_external_id,
       coalesce(x.matched_room, y.matched_room) as matched_room,
       b.guest_token
from rb b
left join by_number x on x.source = b.source and x.hotel_id = b.hotel_id and x.booking_id = b.booking_id
left join by_room y on y.source = b.source and y.hotel_id = b.hotel_id and y.booking_id = b.booking_id
