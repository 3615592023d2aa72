{{
    config(
        materialized='incremental',
        unique_key='deal_id',
        incremental_strategy='delete+insert',
    )
}}
-- One row per live HubSpot deal, latest version; money as decimals, the close day in São Paulo.
-- An incremental table, not a view: every order, funnel and campaign model reads it, and a view
-- would re-deduplicate millions of deals in each reader. A run reads the deals HubSpot modified
-- since the newest one already here (minus a day, for late writes).
with latest as (
    {{ hubspot_latest_versions('deals') }}
)

select
    id as deal_id,
    associated_contact_id as contact_id,
    dealname as deal_name,
    dealstage as deal_stage,
    pipeline,
    plan,
    coalesce(billing_cycle, 'monthly') as billing_cycle,
    coalesce(order_type, 'subscription') as order_type,
    amount as amount_brl,
    coalesce(discount_amount, 0) as discount_brl,
    coalesce(shipping_amount, 0) as shipping_brl,
    coalesce(refund_amount, 0) as refund_brl,
    closedate as closed_at,
    {{ local_date('closedate') }} as close_date,
    dealstage = 'closedwon' as is_closed_won,
    coalesce(createdate, created_at) as created_at,
    coalesce(hs_lastmodifieddate, updated_at) as updated_at,
    updated_at as raw_updated_at
from latest
