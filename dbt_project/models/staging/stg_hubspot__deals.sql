-- One row per live HubSpot deal, latest version; money as decimals, the close day in São Paulo.
with ranked as (
    select
        *,
        row_number() over (partition by id order by updated_at desc) as version_rank
    from {{ source('raw_hubspot', 'deals') }}
    where not coalesce(archived, false)
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
    coalesce(hs_lastmodifieddate, updated_at) as updated_at
from ranked
where version_rank = 1
