-- Unit economics per month (METRICS.md "ARPA", "LTV, formula", "CAC, blended", "CAC payback",
-- "LTV : CAC"). Churn for the LTV is the trailing 6-month average of the logo churn rate, the
-- current month excluded; gross margin % = lucro bruto ÷ receita líquida of the month's DRE.
with mrr as (
    select month, is_complete, mrr_brl, active_customers, arpa_brl from {{ ref('fct_mrr_monthly') }}
), churn as (
    select
        month,
        logo_churn_rate,
        avg(logo_churn_rate) over (order by month rows between 6 preceding and 1 preceding)
            as trailing_6m_logo_churn_rate
    from {{ ref('fct_churn_monthly') }}
), dre as (
    select
        month,
        sum(case when line_key = 'lucro_bruto' then amount_brl end) as gross_profit_brl,
        sum(case when line_key = 'receita_liquida' then amount_brl end) as net_revenue_brl
    from {{ ref('fct_dre_monthly') }}
    group by month
), cac as (
    select
        month,
        max(blended_cac_brl) as blended_cac_brl,
        {{ safe_divide(
            'sum(case when is_paid_channel then spend_brl else 0 end)',
            'sum(case when is_paid_channel then new_customers else 0 end)'
        ) }} as paid_cac_brl,
        max(total_new_customers) as new_customers
    from {{ ref('fct_cac') }}
    group by month
), joined as (
    select
        mrr.month,
        mrr.is_complete,
        mrr.mrr_brl,
        mrr.active_customers,
        mrr.arpa_brl,
        {{ safe_divide('dre.gross_profit_brl', 'dre.net_revenue_brl') }} as gross_margin_pct,
        churn.logo_churn_rate,
        churn.trailing_6m_logo_churn_rate,
        coalesce(cac.new_customers, 0) as new_customers,
        cac.blended_cac_brl,
        cac.paid_cac_brl
    from mrr
    left join churn on mrr.month = churn.month
    left join dre on mrr.month = dre.month
    left join cac on mrr.month = cac.month
), with_ltv as (
    select
        *,
        {{ safe_divide('arpa_brl * gross_margin_pct', 'trailing_6m_logo_churn_rate') }} as ltv_formula_brl
    from joined
)

select
    *,
    {{ safe_divide('ltv_formula_brl', 'blended_cac_brl') }} as ltv_to_cac_ratio,
    {{ safe_divide('blended_cac_brl', 'arpa_brl * gross_margin_pct') }} as cac_payback_months,
    {{ safe_divide('ltv_formula_brl', 'paid_cac_brl') }} as ltv_to_paid_cac_ratio,
    {{ safe_divide('paid_cac_brl', 'arpa_brl * gross_margin_pct') }} as paid_cac_payback_months
from with_ltv
