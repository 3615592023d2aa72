-- One row per customer who ever paid: cohort (month of the first paid order), acquisition
-- channel (the CRM's attribution, else the channel on their first order row, else 'unknown'),
-- and current plan (the plan of their latest subscription order).
with paid_orders as (
    select * from {{ ref('fct_orders') }} where list_amount_brl > 0
), ranked as (
    select
        customer_id,
        order_date,
        plan,
        billing_cycle,
        channel,
        order_kind,
        row_number() over (partition by customer_id order by order_date, order_id) as first_rank,
        row_number() over (
            partition by customer_id
            order by case when order_kind = 'subscription' then 0 else 1 end, order_date desc, order_id desc
        ) as latest_subscription_rank
    from paid_orders
), firsts as (
    select customer_id, order_date as first_order_date, channel as first_order_channel
    from ranked where first_rank = 1
), latest as (
    select customer_id, plan, billing_cycle
    from ranked where latest_subscription_rank = 1 and order_kind = 'subscription'
), totals as (
    select
        customer_id,
        max(order_date) as last_order_date,
        count(*) as orders,
        sum(net_revenue_brl) as revenue_to_date_brl
    from paid_orders
    group by customer_id
), sheet_channel as (
    -- the first non-empty channel a sheet/CSV row gives, for customers the CRM does not know
    select customer_id, min(channel) as channel
    from paid_orders
    where channel is not null
    group by customer_id
)

select
    firsts.customer_id,
    firsts.first_order_date,
    {{ month_start('firsts.first_order_date') }} as cohort_month,
    coalesce(contacts.acquisition_channel, firsts.first_order_channel, sheet_channel.channel, 'unknown')
        as acquisition_channel,
    latest.plan,
    latest.billing_cycle,
    totals.last_order_date,
    totals.orders,
    totals.revenue_to_date_brl
from firsts
inner join totals on firsts.customer_id = totals.customer_id
left join latest on firsts.customer_id = latest.customer_id
left join sheet_channel on firsts.customer_id = sheet_channel.customer_id
left join {{ ref('stg_hubspot__contacts') }} as contacts on firsts.customer_id = contacts.contact_id
