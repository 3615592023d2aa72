{{ config(materialized='view') }}
-- Every paid order from every source, one shape. HubSpot: each closed-won deal is one billed
-- subscription order. Sheets/CSV: `avulso` rows are one-off purchases; rows of an imported order
-- export (`import`) are the company's recurring orders, billed monthly.
select
    'hs-' || deal_id as order_id,
    'hubspot' as source_system,
    contact_id as customer_id,
    close_date as order_date,
    'subscription' as order_kind,
    order_type,
    plan,
    billing_cycle,
    cast(null as varchar) as channel,
    amount_brl as list_amount_brl,
    discount_brl,
    shipping_brl,
    refund_brl,
    updated_at as source_updated_at
from {{ ref('stg_hubspot__deals') }}
where is_closed_won and close_date is not null and contact_id is not null

union all

select
    order_id,
    'sheets' as source_system,
    customer_id,
    order_date,
    case when order_type = 'avulso' then 'one_off' else 'subscription' end as order_kind,
    order_type,
    plan,
    'monthly' as billing_cycle,
    channel,
    amount_brl as list_amount_brl,
    0 as discount_brl,
    0 as shipping_brl,
    0 as refund_brl,
    cast(null as timestamp with time zone) as source_updated_at
from {{ ref('stg_sheets__orders') }}
