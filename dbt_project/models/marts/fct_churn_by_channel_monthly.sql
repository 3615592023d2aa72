-- Logo and revenue churn per month and acquisition channel (METRICS.md "Logo churn rate"), the
-- same definitions as fct_churn_monthly restricted to the channel's customers.
with by_channel as (
    select
        month,
        acquisition_channel,
        sum(case when previous_mrr_brl > 0 then 1 else 0 end) as active_customers_start,
        sum(case when movement = 'churn' then 1 else 0 end) as churned_customers,
        sum(case when mrr_brl > 0 then 1 else 0 end) as active_customers,
        sum(previous_mrr_brl) as mrr_start_brl,
        sum(mrr_brl) as mrr_brl,
        sum(case when movement = 'churn' then -mrr_change_brl else 0 end) as churned_mrr_brl,
        sum(case when movement = 'contraction' then -mrr_change_brl else 0 end) as contraction_mrr_brl,
        sum(case when movement in ('expansion', 'reactivation') then mrr_change_brl else 0 end)
            as expansion_reactivation_mrr_brl
    from {{ ref('fct_mrr_movements') }}
    group by month, acquisition_channel
)

select
    by_channel.month,
    months.is_complete,
    by_channel.acquisition_channel,
    by_channel.active_customers_start,
    by_channel.churned_customers,
    by_channel.active_customers,
    {{ safe_divide('by_channel.churned_customers', 'by_channel.active_customers_start') }} as logo_churn_rate,
    by_channel.mrr_start_brl,
    by_channel.mrr_brl,
    {{ safe_divide('by_channel.mrr_brl', 'by_channel.active_customers') }} as arpa_brl,
    {{ safe_divide('by_channel.churned_mrr_brl + by_channel.contraction_mrr_brl', 'by_channel.mrr_start_brl') }}
        as gross_revenue_churn_rate,
    {{ safe_divide(
        'by_channel.churned_mrr_brl + by_channel.contraction_mrr_brl - by_channel.expansion_reactivation_mrr_brl',
        'by_channel.mrr_start_brl'
    ) }} as net_revenue_churn_rate
from by_channel
inner join {{ ref('int_reporting_months') }} as months on by_channel.month = months.month
