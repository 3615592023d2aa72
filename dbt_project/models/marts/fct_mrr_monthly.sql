-- MRR and its bridge per month (METRICS.md "MRR", "MRR movements", "ARPA"). Movement columns are
-- positive magnitudes: mrr_end = mrr_start + new + expansion + reactivation - contraction - churn.
with bridge as (
    select
        month,
        sum(previous_mrr_brl) as mrr_start_brl,
        sum(case when movement = 'new' then mrr_change_brl else 0 end) as new_mrr_brl,
        sum(case when movement = 'expansion' then mrr_change_brl else 0 end) as expansion_mrr_brl,
        sum(case when movement = 'reactivation' then mrr_change_brl else 0 end) as reactivation_mrr_brl,
        sum(case when movement = 'contraction' then -mrr_change_brl else 0 end) as contraction_mrr_brl,
        sum(case when movement = 'churn' then -mrr_change_brl else 0 end) as churned_mrr_brl,
        sum(mrr_brl) as mrr_end_brl,
        sum(case when mrr_brl > 0 then 1 else 0 end) as active_customers,
        sum(case when previous_mrr_brl > 0 then 1 else 0 end) as active_customers_start,
        sum(case when movement = 'new' then 1 else 0 end) as new_customers,
        sum(case when movement = 'reactivation' then 1 else 0 end) as reactivated_customers,
        sum(case when movement = 'churn' then 1 else 0 end) as churned_customers,
        sum(case when movement = 'expansion' then 1 else 0 end) as expanded_customers,
        sum(case when movement = 'contraction' then 1 else 0 end) as contracted_customers
    from {{ ref('fct_mrr_movements') }}
    group by month
)

select
    months.month,
    months.is_complete,
    coalesce(bridge.mrr_start_brl, 0) as mrr_start_brl,
    coalesce(bridge.new_mrr_brl, 0) as new_mrr_brl,
    coalesce(bridge.expansion_mrr_brl, 0) as expansion_mrr_brl,
    coalesce(bridge.reactivation_mrr_brl, 0) as reactivation_mrr_brl,
    coalesce(bridge.contraction_mrr_brl, 0) as contraction_mrr_brl,
    coalesce(bridge.churned_mrr_brl, 0) as churned_mrr_brl,
    coalesce(bridge.mrr_end_brl, 0) as mrr_brl,
    coalesce(bridge.active_customers, 0) as active_customers,
    coalesce(bridge.active_customers_start, 0) as active_customers_start,
    coalesce(bridge.new_customers, 0) as new_customers,
    coalesce(bridge.reactivated_customers, 0) as reactivated_customers,
    coalesce(bridge.churned_customers, 0) as churned_customers,
    coalesce(bridge.expanded_customers, 0) as expanded_customers,
    coalesce(bridge.contracted_customers, 0) as contracted_customers,
    {{ safe_divide('bridge.mrr_end_brl', 'bridge.active_customers') }} as arpa_brl
from {{ ref('int_reporting_months') }} as months
left join bridge on months.month = bridge.month
