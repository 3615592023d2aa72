-- One row per customer who ever paid: cohort (month of the first paid order), acquisition
-- channel (the CRM's attribution, else the channel on their first-day order rows, else on any of
-- their rows, else 'unknown'), and current plan (the plan of their latest subscription order).
-- Aggregates and equi-joins only: no window over the whole order history. Incremental: a run
-- recomputes the customers with orders (re)loaded into fct_orders or contacts (re)loaded into
-- stg_hubspot__contacts since the previous run, over their whole history.
{{
    config(
        materialized='incremental',
        unique_key='customer_id',
        incremental_strategy='delete+insert',
    )
}}
with
{% if is_incremental() %}
affected as (
    select customer_id from {{ ref('fct_orders') }} where loaded_at > (select max(loaded_at) from {{ this }})
    union
    select contact_id from {{ ref('stg_hubspot__contacts') }}
    where loaded_at > (select max(loaded_at) from {{ this }})
),
{% endif %}
paid_orders as (
    select * from {{ ref('fct_orders') }}
    where list_amount_brl > 0
    {% if is_incremental() %}and customer_id in (select customer_id from affected){% endif %}
), totals as (
    select
        customer_id,
        min(order_date) as first_order_date,
        max(order_date) as last_order_date,
        max(case when order_kind = 'subscription' then order_date end) as last_subscription_date,
        min(channel) as any_channel,
        count(*) as orders,
        sum(net_revenue_brl) as revenue_to_date_brl
    from paid_orders
    group by customer_id
), first_day as (
    select paid_orders.customer_id, min(paid_orders.channel) as channel
    from paid_orders
    inner join totals
        on paid_orders.customer_id = totals.customer_id and paid_orders.order_date = totals.first_order_date
    group by paid_orders.customer_id
), latest_subscription_id as (
    select paid_orders.customer_id, max(paid_orders.order_id) as order_id
    from paid_orders
    inner join totals
        on paid_orders.customer_id = totals.customer_id and paid_orders.order_date = totals.last_subscription_date
    where paid_orders.order_kind = 'subscription'
    group by paid_orders.customer_id
), latest as (
    select paid_orders.customer_id, paid_orders.plan, paid_orders.billing_cycle
    from paid_orders
    inner join latest_subscription_id on paid_orders.order_id = latest_subscription_id.order_id
)

select
    totals.customer_id,
    totals.first_order_date,
    {{ month_start('totals.first_order_date') }} as cohort_month,
    coalesce(contacts.acquisition_channel, first_day.channel, totals.any_channel, 'unknown') as acquisition_channel,
    latest.plan,
    latest.billing_cycle,
    totals.last_order_date,
    totals.orders,
    totals.revenue_to_date_brl,
    current_timestamp as loaded_at
from totals
inner join first_day on totals.customer_id = first_day.customer_id
left join latest on totals.customer_id = latest.customer_id
left join {{ ref('stg_hubspot__contacts') }} as contacts on totals.customer_id = contacts.contact_id
