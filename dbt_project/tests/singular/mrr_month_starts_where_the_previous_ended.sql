-- The MRR bridge chains: each month's starting MRR is the previous month's ending MRR.
select current_month.month, current_month.mrr_start_brl, previous_month.mrr_brl as previous_mrr_brl
from {{ ref('fct_mrr_monthly') }} as current_month
inner join {{ ref('fct_mrr_monthly') }} as previous_month
    on previous_month.month = {{ add_months('current_month.month', -1) }}
where abs(current_month.mrr_start_brl - previous_month.mrr_brl) >= 0.005
