-- Customer × month where the customer had revenue: recognized subscription MRR (an annual order
-- spread over its 12 months) and one-off purchases. Sparse: months without revenue have no row.
with subscription_months as (
    select
        orders.customer_id,
        {{ add_months('orders.order_month', 'offsets.month_offset') }} as month,
        orders.mrr_brl,
        {{ to_double(0) }} as one_off_brl,
        orders.net_revenue_brl as billed_brl,
        case when offsets.month_offset = 0 then 1 else 0 end as orders
    from {{ ref('fct_orders') }} as orders
    inner join generate_series(0, 11) as offsets(month_offset)
        on offsets.month_offset < orders.mrr_months
    where orders.order_kind = 'subscription' and orders.list_amount_brl > 0
), one_off_months as (
    select
        customer_id,
        order_month as month,
        {{ to_double(0) }} as mrr_brl,
        {{ to_double('list_amount_brl') }} as one_off_brl,
        net_revenue_brl as billed_brl,
        1 as orders
    from {{ ref('fct_orders') }}
    where order_kind = 'one_off' and list_amount_brl > 0
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
    sum(case when combined.orders = 1 then combined.billed_brl else 0 end) as billed_brl,
    sum(combined.orders) as orders
from combined
where combined.month <= (select max(month) from {{ ref('int_reporting_months') }})
group by combined.customer_id, combined.month
