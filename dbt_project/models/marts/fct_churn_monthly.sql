-- Churn per month (METRICS.md "Logo churn rate", "Gross revenue churn", "Net revenue churn"),
-- from the MRR bridge: rates are over customers / MRR at the end of the previous month.
select
    month,
    is_complete,
    active_customers_start,
    churned_customers,
    {{ safe_divide('churned_customers', 'active_customers_start') }} as logo_churn_rate,
    mrr_start_brl,
    churned_mrr_brl,
    contraction_mrr_brl,
    expansion_mrr_brl,
    reactivation_mrr_brl,
    {{ safe_divide('churned_mrr_brl + contraction_mrr_brl', 'mrr_start_brl') }} as gross_revenue_churn_rate,
    {{ safe_divide(
        'churned_mrr_brl + contraction_mrr_brl - expansion_mrr_brl - reactivation_mrr_brl', 'mrr_start_brl'
    ) }} as net_revenue_churn_rate
from {{ ref('fct_mrr_monthly') }}
