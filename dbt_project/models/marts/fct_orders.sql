{{
    config(
        materialized='incremental',
        unique_key='order_id',
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
    )
}}
-- One row per paid order. Incremental: a daily run reads only orders dated within the lookback
-- window before the newest order already here, plus deals HubSpot modified since the last run
-- (a refund booked later). Deletions upstream need `--full-refresh`.
with orders as (
    select * from {{ ref('int_orders__unioned') }}
    {% if is_incremental() %}
    where order_date >= (select max(order_date) from {{ this }}) - {{ var('incremental_lookback_days') }}
       or source_updated_at > (select max(source_updated_at) from {{ this }})
    {% endif %}
)

select
    order_id,
    source_system,
    customer_id,
    order_date,
    {{ month_start('order_date') }} as order_month,
    order_kind,
    order_type,
    plan,
    billing_cycle,
    channel,
    {{ money('list_amount_brl') }} as list_amount_brl,
    {{ money('discount_brl') }} as discount_brl,
    {{ money('shipping_brl') }} as shipping_brl,
    {{ money('refund_brl') }} as refund_brl,
    {{ money('list_amount_brl - discount_brl + shipping_brl') }} as charged_brl,
    {{ money('list_amount_brl - discount_brl + shipping_brl - refund_brl') }} as net_revenue_brl,
    -- MRR: the monthly-normalized list value; an annual order counts 1/12 in each of its 12 months
    case when order_kind = 'subscription' then (case when billing_cycle = 'annual' then 12 else 1 end) else 0 end
        as mrr_months,
    case
        when order_kind <> 'subscription' then 0
        when billing_cycle = 'annual' then {{ to_double('list_amount_brl') }} / 12
        else {{ to_double('list_amount_brl') }}
    end as mrr_brl,
    source_updated_at,
    -- when this row was (re)built: downstream incremental models rebuild from the months it touches
    current_timestamp as loaded_at
from orders
