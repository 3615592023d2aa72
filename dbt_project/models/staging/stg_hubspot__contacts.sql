{{
    config(
        materialized='incremental',
        unique_key='contact_id',
        incremental_strategy='delete+insert',
    )
}}
-- One row per live HubSpot contact, latest version. An incremental table for the same reason as
-- stg_hubspot__deals: customers, segments and campaigns all read it.
with latest as (
    {{ hubspot_latest_versions('contacts') }}
)

select
    id as contact_id,
    email,
    phone,
    -- WhatsApp identifies people by their number without the '+': the webhooks' wa_id
    replace(phone, '+', '') as wa_id,
    firstname as first_name,
    lastname as last_name,
    city,
    state,
    lifecyclestage as lifecycle_stage,
    hs_analytics_source as analytics_source,
    acquisition_channel,
    coalesce(whatsapp_opt_in, false) as whatsapp_opt_in,
    whatsapp_opt_in_date as whatsapp_opt_in_at,
    coalesce(createdate, created_at) as created_at,
    coalesce(lastmodifieddate, updated_at) as updated_at,
    updated_at as raw_updated_at,
    current_timestamp as loaded_at
from latest
