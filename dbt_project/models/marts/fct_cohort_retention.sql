-- The cohort retention matrix (METRICS.md "Cohort retention matrix", "Cumulative revenue per
-- customer"): cohort = month of the first paid order, k = months since. Every (cohort, k) up to
-- the last reported month has a row, zeros included. Revenue = recognized subscription MRR plus
-- one-off purchases of the month.
with customers as (
    select customer_id, cohort_month from {{ ref('int_customers') }}
), cohort_sizes as (
    select cohort_month, count(*) as cohort_size from customers group by cohort_month
), activity as (
    select
        customers.cohort_month,
        customer_months.month,
        count(*) as active_customers,
        sum(customer_months.revenue_brl) as revenue_brl
    from {{ ref('int_customer_months') }} as customer_months
    inner join customers on customer_months.customer_id = customers.customer_id
    where customer_months.revenue_brl > 0
    group by customers.cohort_month, customer_months.month
), grid as (
    select
        cohort_sizes.cohort_month,
        cohort_sizes.cohort_size,
        months.month,
        months.is_complete,
        {{ months_between('cohort_sizes.cohort_month', 'months.month') }} as months_since_cohort
    from cohort_sizes
    inner join {{ ref('int_reporting_months') }} as months on months.month >= cohort_sizes.cohort_month
), filled as (
    select
        grid.*,
        coalesce(activity.active_customers, 0) as active_customers,
        coalesce(activity.revenue_brl, 0) as revenue_brl
    from grid
    left join activity on grid.cohort_month = activity.cohort_month and grid.month = activity.month
)

select
    cohort_month,
    months_since_cohort,
    month,
    is_complete,
    cohort_size,
    active_customers,
    {{ safe_divide('active_customers', 'cohort_size') }} as logo_retention,
    revenue_brl,
    {{ safe_divide(
        'revenue_brl',
        'first_value(revenue_brl) over (partition by cohort_month order by months_since_cohort)'
    ) }} as revenue_retention,
    {{ safe_divide(
        'sum(revenue_brl) over (partition by cohort_month order by months_since_cohort rows unbounded preceding)',
        'cohort_size'
    ) }} as cumulative_revenue_per_customer_brl
from filled
