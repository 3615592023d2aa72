{{
    config(
        materialized='incremental',
        unique_key='month',
        incremental_strategy='delete+insert',
    )
}}
-- Customer × month where the customer had revenue: recognized subscription MRR (an annual order
-- spread over its 12 months) and one-off purchases. Sparse: months without revenue have no row.
-- Incremental: a run rebuilds whole months from the earliest month of the orders fct_orders
-- (re)loaded since the previous run; older months stay as they are.
with
{% if is_incremental() %}
since as ({{ first_month_to_rebuild(ref('fct_orders'), 'order_month') }}),
{% endif %}
orders as (
    select * from {{ ref('fct_orders') }}
    {% if is_incremental() %}
    -- an annual order of up to 11 months before still covers the rebuilt months
    where order_month >= (select {{ add_months('month', -11) }} from since)
    {% endif %}
), subscription_months as (
    -- a monthly order covers its own month (no join needed) ...
    select
        customer_id,
        order_month as month,
        mrr_brl,
        {{ to_double(0) }} as one_off_brl,
        net_revenue_brl as billed_brl,
        1 as orders
    from orders
    where order_kind = 'subscription' and list_amount_brl > 0 and mrr_months = 1
    {% if is_incremental() %}and order_month >= (select month from since){% endif %}
    union all
    -- ... an annual order each of its 12 months
    select
        orders.customer_id,
        {{ add_months('orders.order_month', 'offsets.month_offset') }} as month,
        orders.mrr_brl,
        {{ to_double(0) }} as one_off_brl,
        case when offsets.month_offset = 0 then orders.net_revenue_brl else 0 end as billed_brl,
        case when offsets.month_offset = 0 then 1 else 0 end as orders
    from orders
    cross join generate_series(0, 11) as offsets(month_offset)
    where orders.order_kind = 'subscription' and orders.list_amount_brl > 0 and orders.mrr_months = 12
    {% if is_incremental() %}
      and {{ add_months('orders.order_month', 'offsets.month_offset') }} >= (select month from since)
    {% endif %}
), one_off_months as (
    select
        customer_id,
        order_month as month,
        {{ to_double(0) }} as mrr_brl,
        {{ to_double('list_amount_brl') }} as one_off_brl,
        net_revenue_brl as billed_brl,
        1 as orders
    from orders
    where order_kind = 'one_off' and list_amount_brl > 0
    {% if is_incremental() %}and order_month >= (select month from since){% endif %}
), combined as (
    select * from subscription_months
    union all
    select * from one_off_months
)

select
    combined.customer_id,
    combined.month,
    sum(combined.mrr_brl) as mrr_brl,
    sum(combined.one_off_brl) as one_off_brl,
    sum(combined.mrr_brl) + sum(combined.one_off_brl) as revenue_brl,
    sum(combined.billed_brl) as billed_brl,
    sum(combined.orders) as orders,
    current_timestamp as loaded_at
from combined
where combined.month <= (select max(month) from {{ ref('int_reporting_months') }})
{% if is_incremental() %}
  and combined.month >= (select month from since)
{% endif %}
group by combined.customer_id, combined.month
