-- Customer segments for campaigns: one row per paying customer with RFM as of
-- int_reporting_months.as_of_date and exactly one `segment`, by the first rule that applies:
--   new          first paid order in the last 30 days (0..29 days before the as-of date)
--   vip          active and in the top 10% of active customers by 12-month net revenue
--   at_risk      active, but a monthly subscriber whose last subscription order is > 35 days old
--                (a missed renewal) or whose MRR fell in the as-of month (a contraction)
--   loyal        any other active customer
--   inactive_60d not active and no paid order for >= 60 days (the win-back target)
--   churned      not active, last paid order less than 60 days ago
-- Active = MRR > 0 in the as-of month; while that month is incomplete, MRR > 0 in the previous
-- month also counts (the renewal is not due yet; the at_risk rule catches a missed one).
with as_of as (
    select
        max(as_of_date) as as_of_date,
        {{ month_start('max(as_of_date)') }} as as_of_month,
        {{ add_months('max(as_of_date)', -1) }} as previous_month
    from {{ ref('int_reporting_months') }}
), as_of_month_status as (
    select as_of.*, coalesce(months.is_complete, false) as is_as_of_month_complete
    from as_of
    left join {{ ref('int_reporting_months') }} as months on months.month = as_of.as_of_month
), orders as (
    select orders.*
    from {{ ref('fct_orders') }} as orders
    cross join as_of
    where orders.list_amount_brl > 0 and orders.order_date <= as_of.as_of_date
), order_stats as (
    select
        orders.customer_id,
        min(orders.order_date) as first_order_date,
        max(orders.order_date) as last_order_date,
        max(case when orders.order_kind = 'subscription' then orders.order_date end) as last_subscription_order_date,
        -- last 12 months = the 365 days ending on the as-of date
        count(case when orders.order_date > as_of.as_of_date - 365 then 1 end) as frequency,
        {{ money('sum(case when orders.order_date > as_of.as_of_date - 365 then orders.net_revenue_brl else 0 end)') }}
            as monetary_brl,
        count(*) as paid_orders,
        sum(orders.net_revenue_brl) as revenue_to_date_brl
    from orders
    cross join as_of
    group by orders.customer_id
), latest_subscription as (
    -- plan and billing cycle of the latest subscription order on or before the as-of date; on the same
    -- day the greatest order id wins, as in int_customers
    {% if var('as_of_date') %}
    select orders.customer_id, orders.plan, orders.billing_cycle
    from orders
    inner join (
        select orders.customer_id, max(orders.order_id) as order_id
        from orders
        inner join order_stats
            on orders.customer_id = order_stats.customer_id
           and orders.order_date = order_stats.last_subscription_order_date
        where orders.order_kind = 'subscription'
        group by orders.customer_id
    ) as latest_id on orders.order_id = latest_id.order_id
    {% else %}
    -- as of the newest order int_customers holds exactly that: no second pass over the orders
    select customer_id, plan, billing_cycle from {{ ref('int_customers') }}
    {% endif %}
), mrr as (
    select
        customer_months.customer_id,
        sum(case when customer_months.month = as_of.as_of_month then customer_months.mrr_brl else 0 end)
            as mrr_brl,
        sum(case when customer_months.month = as_of.previous_month then customer_months.mrr_brl else 0 end)
            as previous_mrr_brl
    from {{ ref('int_customer_months') }} as customer_months
    cross join as_of
    where customer_months.month in (as_of.as_of_month, as_of.previous_month)
    group by customer_months.customer_id
), opt_outs as (
    -- the suppression list: the CRM's opt-in is not updated when someone replies SAIR
    select wa_id, max(received_at) as whatsapp_opted_out_at
    from {{ ref('stg_whatsapp__messages') }}
    where is_opt_out
    group by wa_id
), base as (
    select
        order_stats.customer_id,
        customers.cohort_month,
        customers.acquisition_channel,
        latest_subscription.plan,
        latest_subscription.billing_cycle,
        order_stats.first_order_date,
        order_stats.last_order_date,
        order_stats.last_subscription_order_date,
        order_stats.paid_orders,
        order_stats.revenue_to_date_brl,
        status.as_of_date,
        {{ days_between('order_stats.first_order_date', 'status.as_of_date') }} as days_since_first_order,
        {{ days_between('order_stats.last_order_date', 'status.as_of_date') }} as recency_days,
        {{ days_between('order_stats.last_subscription_order_date', 'status.as_of_date') }}
            as days_since_last_subscription_order,
        order_stats.frequency,
        order_stats.monetary_brl,
        coalesce(mrr.mrr_brl, 0) as mrr_brl,
        coalesce(mrr.previous_mrr_brl, 0) as previous_mrr_brl,
        coalesce(mrr.mrr_brl, 0) > 0
            or (not status.is_as_of_month_complete and coalesce(mrr.previous_mrr_brl, 0) > 0) as is_active,
        coalesce(mrr.mrr_brl, 0) > 0 and coalesce(mrr.previous_mrr_brl, 0) > coalesce(mrr.mrr_brl, 0)
            as has_contraction,
        contacts.wa_id,
        coalesce(contacts.whatsapp_opt_in, false) as whatsapp_opt_in,
        contacts.whatsapp_opt_in_at,
        opt_outs.whatsapp_opted_out_at
    from order_stats
    cross join as_of_month_status as status
    left join {{ ref('int_customers') }} as customers on order_stats.customer_id = customers.customer_id
    left join latest_subscription on order_stats.customer_id = latest_subscription.customer_id
    left join mrr on order_stats.customer_id = mrr.customer_id
    left join {{ ref('stg_hubspot__contacts') }} as contacts on order_stats.customer_id = contacts.contact_id
    left join opt_outs on contacts.wa_id = opt_outs.wa_id
), scored as (
    select
        base.*,
        -- quintile of the rank, 5 = best; ties share the score of the tie group's first row
        -- (ntile(5) would split ties arbitrarily, and differently on DuckDB and PostgreSQL)
        cast(floor({{ safe_divide('5 * (rank() over (order by recency_days desc) - 1)', 'count(*) over ()') }}) + 1 as integer)
            as r_score,
        cast(floor({{ safe_divide('5 * (rank() over (order by frequency) - 1)', 'count(*) over ()') }}) + 1 as integer)
            as f_score,
        cast(floor({{ safe_divide('5 * (rank() over (order by monetary_brl) - 1)', 'count(*) over ()') }}) + 1 as integer)
            as m_score,
        -- active customers with a 12-month net revenue >= this one's, ties included
        case when is_active then count(*) over (
            partition by is_active order by monetary_brl desc range between unbounded preceding and current row
        ) end as active_monetary_rank,
        count(case when is_active then 1 end) over () as active_customers
    from base
), segmented as (
    select
        scored.*,
        case
            when days_since_first_order < 30 then 'new'
            when is_active and monetary_brl > 0 and active_monetary_rank * 10 <= active_customers then 'vip'
            when is_active and billing_cycle = 'monthly' and days_since_last_subscription_order > 35 then 'at_risk'
            when is_active and has_contraction then 'at_risk'
            when is_active then 'loyal'
            when recency_days >= 60 then 'inactive_60d'
            else 'churned'
        end as segment
    from scored
)

select
    customer_id,
    segment,
    case
        when segment = 'new' then 'first order ' || cast(days_since_first_order as varchar) || ' days ago'
        when segment = 'vip' then 'top 10% of active customers by 12-month net revenue (R$ '
            || cast(monetary_brl as varchar) || ')'
        when segment = 'at_risk' and billing_cycle = 'monthly' and days_since_last_subscription_order > 35
            then 'monthly renewal missed: last subscription order '
            || cast(days_since_last_subscription_order as varchar) || ' days ago'
        when segment = 'at_risk' then 'MRR fell from R$ ' || cast({{ money('previous_mrr_brl') }} as varchar)
            || ' to R$ ' || cast({{ money('mrr_brl') }} as varchar) || ' in the as-of month'
        when segment = 'loyal' and mrr_brl > 0 then 'active subscriber, MRR R$ ' || cast({{ money('mrr_brl') }} as varchar)
        when segment = 'loyal' then 'active subscriber, renewal not due yet (MRR R$ '
            || cast({{ money('previous_mrr_brl') }} as varchar) || ' in the previous month)'
        when segment = 'inactive_60d' then 'not active, no paid order for ' || cast(recency_days as varchar) || ' days'
        else 'lapsed recently: not active, last paid order ' || cast(recency_days as varchar) || ' days ago'
    end as segment_reason,
    as_of_date,
    recency_days,
    frequency,
    monetary_brl,
    r_score,
    f_score,
    m_score,
    cast(r_score as varchar) || cast(f_score as varchar) || cast(m_score as varchar) as rfm_cell,
    is_active,
    mrr_brl,
    previous_mrr_brl,
    has_contraction,
    first_order_date,
    last_order_date,
    last_subscription_order_date,
    paid_orders,
    revenue_to_date_brl,
    days_since_first_order,
    days_since_last_subscription_order,
    cohort_month,
    acquisition_channel,
    plan,
    billing_cycle,
    wa_id,
    whatsapp_opt_in,
    whatsapp_opt_in_at,
    whatsapp_opted_out_at,
    whatsapp_opt_in
        and wa_id is not null
        and (whatsapp_opted_out_at is null or whatsapp_opted_out_at < whatsapp_opt_in_at) as is_whatsapp_contactable
from segmented
