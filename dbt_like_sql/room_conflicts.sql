-- description: Rooms claimed by two bookings on one night: the booking that keeps the room and the one moved to an unassigned room night, for the front office to resolve.
-- materialized: table
-- group: occupancy
-- column hotel_id VARCHAR: portfolio hotel id
-- column stay_date DATE: the night
-- column room_number VARCHAR: the room both bookings were assigned
-- column kept_source VARCHAR: source of the booking that keeps the room (booked first)
-- column kept_external_id VARCHAR: its booking id
-- column displaced_source VARCHAR: source of the booking shown as unassigned that night
-- column displaced_external_id VARCHAR: its booking id
-- column displaced_unassigned_seq INTEGER: the displaced booking's unassigned sequence in room_nights
-- column as_of_date DATE: business date the night was last written for
select d.hotel_id, d.stay_date, d.claimed_room as room_number,
       k.source as kept_source, k.external_id as kept_external_id,
       d.source as displaced_source, d.external_id as displaced_external_id,
       d.unassigned_seq as displaced_unassigned_seq, d.as_of_date
from {{ ref('room_nights') }} d
join {{ ref('room_nights') }} k
  on k.hotel_id = d.hotel_id and k.stay_date = d.stay_date and k.room_number = d.claimed_room
where d.claimed_room is not null
