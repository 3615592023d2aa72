-- One row per live HubSpot contact, latest version.
with ranked as (
    select
        *,
        row_number() over (partition by id order by updated_at desc) as version_rank
    from {{ source('raw_hubspot', 'contacts') }}
    where not coalesce(archived, false)
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
    coalesce(lastmodifieddate, updated_at) as updated_at
from ranked
where version_rank = 1
