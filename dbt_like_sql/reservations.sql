-- description: Unified model: the newest accepted version of every reservation, one row per (source, hotel_id, external_id).
-- materialized: table
-- group: unified
-- depends_on: legacy_csv_import, pms_extract
-- column hotel_id VARCHAR: portfolio hotel id
-- column source VARCHAR: csv, or the PMS it came from (mews, cloudbeds, ...)
-- column external_id VARCHAR: the source's reservation id (for the CSV data set: the booking_ref row number)
-- column status VARCHAR: confirmed, checked_in, checked_out, cancelled or no_show
-- column booked_on DATE: hotel-local date the booking was made
-- column cancelled_on DATE: date of the cancellation or no-show; null if neither
-- column checked_out_on DATE: check-out date; null until the guest has left
-- column arrival_date DATE: first night
-- column departure_date DATE: check-out day (arrival + nights)
-- column nights INTEGER: nights booked; a 0-night booking occupies nothing
-- column room_type VARCHAR: room type as the source names it
-- column room_number VARCHAR: assigned room; null where unknown
-- column guest_token VARCHAR: opaque guest token (never a raw name); null where unknown
-- column adults INTEGER: adults
-- column children INTEGER: children; null where the source says NA
-- column babies INTEGER: babies; null where the source has no infant count (Cloudbeds)
-- column meal_plan VARCHAR: RO, BB, HB, FB or unknown
-- column is_dbb BOOLEAN: dinner included (HB or FB)
-- column is_package BOOLEAN: sold as a package; false where the source has no such notion
-- column net_amount DOUBLE: stay total net of tax
-- column gross_amount DOUBLE: stay total with tax; null where the source has no tax figure
-- column currency VARCHAR: ISO 4217
-- column channel VARCHAR: distribution channel as the source names it
-- column synced_at TIMESTAMP: when the pipeline accepted the current version (UTC)
-- column version INTEGER: 1 for the first accepted record, +1 per accepted change
select v.hotel_id, v.source, v.external_id, v.status, v.booked_on, v.cancelled_on, v.checked_out_on,
       v.arrival_date, v.departure_date, v.nights, v.room_type, v.room_number, v.guest_token,
       v.adults, v.children, v.babies, v.meal_plan, v.is_dbb, v.is_package, v.net_amount, v.gross_amount,
       v.currency, v.channel, v.synced_at, v.version
from {{ source('reservation_versions') }} v
join (
    select source, hotel_id, external_id, max(version) as version
    from {{ source('reservation_versions') }}
    group by source, hotel_id, external_id
) latest
  on latest.source = v.source and latest.hotel_id = v.hotel_id
 and latest.external_id = v.external_id and latest.version = v.version
