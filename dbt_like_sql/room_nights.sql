-- description: Who sleeps in which room each night of the live horizon: one row per occupied room night (unassigned ones numbered), with the night's board and a guest label that never holds a name.
-- materialized: table
-- group: occupancy
-- asset: python
-- column hotel_id VARCHAR: portfolio hotel id
-- column stay_date DATE: the night
-- column room_number VARCHAR: the room this booking holds tonight; null when unassigned (or when another booking holds the room it asked for)
-- column unassigned_seq INTEGER: 1, 2, ... per hotel and night for room nights without a room (in booking order); null when a room is held
-- column claimed_room VARCHAR: the room the booking was assigned but another booking holds that night (listed in room_conflicts); null otherwise
-- column source VARCHAR: source of the booking (csv, mews, ...)
-- column external_id VARCHAR: the source's booking id (the hotel booking number)
-- column arrival_date DATE: first night of the booking
-- column departure_date DATE: check-out day of the booking
-- column nights INTEGER: nights of the booking
-- column night_index INTEGER: 0 on the arrival night, 1 on the next, ...
-- column room_type VARCHAR: room type as the source names it
-- column adults INTEGER: adults
-- column children INTEGER: children; null where the source says NA
-- column meal_plan VARCHAR: board of this night (RO, BB, HB, FB, unknown): the vendor's per-night items where it has them, else the booking's plan
-- column is_dbb BOOLEAN: dinner, bed and breakfast tonight (the night's plan is HB or FB)
-- column is_package BOOLEAN: the booking was sold as a package
-- column breakfast_included BOOLEAN: breakfast included (served the morning after the night)
-- column dinner_included BOOLEAN: dinner included on the evening of the night
-- column meal_source VARCHAR: night (the vendor says it per night) or booking (from the booking's plan)
-- column guest_token VARCHAR: opaque guest token (joins guests and the encrypted guest store); null where unknown
-- column guest_policy VARCHAR: the hotel's guest display policy (none, initials, surname, full)
-- column guest_display VARCHAR: the label shown where no name may be shown, e.g. "Guest, room 101"; names only appear in a produced residents list
-- column status VARCHAR: the booking's status (confirmed, checked_in, checked_out, ...)
-- column as_of_date DATE: the hotel business date T the night was last written for (events up to T-1 count)
-- The nights on the books are exactly daily_metrics' (same as-of rule), so per hotel and night the count of rows
-- equals daily_metrics.rooms_sold. A room claimed by two bookings on one night stays with the earlier booking
-- (booked_on, then source and id); the later one becomes an unassigned room night that names the claimed room.
with hotel as (
    select h.hotel_id, h.business_date, coalesce(p.guest_display, 'none') as guest_policy
    from {{ source('hotels') }} h
    left join {{ source('hotel_policies') }} p on p.hotel_id = h.hotel_id
),
on_books as (
    select n.hotel_id, n.source, n.external_id, n.stay_date, n.booked_on, n.room_number,
           h.business_date, h.guest_policy
    from {{ ref('reservation_nights') }} n
    join hotel h on h.hotel_id = n.hotel_id
    where n.stay_date between h.business_date and h.business_date + cast(:horizon_last_day as integer)
      and n.booked_on <= h.business_date - 1
      and (n.off_books_on is null or n.off_books_on > h.business_date - 1)
),
held as (
    select b.*,
           case when b.room_number is not null
                 and row_number() over (partition by b.hotel_id, b.stay_date, b.room_number
                                        order by b.booked_on, b.source, b.external_id) = 1
                then b.room_number end as held_room
    from on_books b
),
numbered as (
    select x.*,
           case when x.held_room is null
                then row_number() over (partition by x.hotel_id, x.stay_date, (x.held_room is null)
                                        order by x.booked_on, x.source, x.external_id) end as seq
    from held x
),
nights as (
    select u.*, r.arrival_date, r.departure_date, r.nights, r.room_type, r.adults, r.children, r.is_package,
           r.guest_token, r.status,
           cast(u.stay_date - r.arrival_date as integer) as night_index,
           coalesce(m.meal_plan, r.meal_plan) as night_plan,
           m.breakfast as night_breakfast, m.dinner as night_dinner,
           case when m.external_id is null then 'booking' else 'night' end as meal_source
    from numbered u
    join {{ ref('reservations') }} r
      on r.source = u.source and r.hotel_id = u.hotel_id and r.external_id = u.external_id
    left join {{ source('night_meals') }} m
      on m.source = u.source and m.hotel_id = u.hotel_id and m.external_id = u.external_id
     and m.stay_date = u.stay_date
)
select n.hotel_id, n.stay_date, n.held_room as room_number, cast(n.seq as integer) as unassigned_seq,
       case when n.held_room is null then n.room_number end as claimed_room,
       n.source, n.external_id, n.arrival_date, n.departure_date, n.nights, n.night_index, n.room_type,
       n.adults, n.children, n.night_plan as meal_plan,
       n.night_plan in {{ vocabulary('dinner_plans') }} as is_dbb,
       coalesce(n.is_package, false) as is_package,
       coalesce(n.night_breakfast, n.night_plan in {{ vocabulary('breakfast_plans') }}) as breakfast_included,
       coalesce(n.night_dinner, n.night_plan in {{ vocabulary('dinner_plans') }}) as dinner_included,
       n.meal_source, n.guest_token, n.guest_policy,
       case when n.held_room is not null then 'Guest, room ' || n.held_room
            else 'Guest, unassigned #' || cast(n.seq as varchar) end as guest_display,
       n.status, n.business_date as as_of_date
from nights n
