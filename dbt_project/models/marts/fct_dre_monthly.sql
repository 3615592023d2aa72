-- The DRE, month × line in the order of the chart of accounts (`dre_chart_of_accounts` seed):
-- every reporting month has every line (zero where nothing was posted). A line is the sum of
-- its components in `int_dre_lines_monthly`; a subtotal is the running sum of the (signed)
-- lines above it; `pct_of_net_revenue` divides by the month's receita líquida.
with months as (
    select month, is_complete
    from {{ ref('int_reporting_months') }}
), chart as (
    select line_key, line_order, label, line_type
    from {{ ref('dre_chart_of_accounts') }}
), posted as (
    select
        month,
        line_key,
        sum(amount_brl) as amount_brl
    from {{ ref('int_dre_lines_monthly') }}
    group by month, line_key
), grid as (
    select
        months.month,
        months.is_complete,
        chart.line_order,
        chart.line_key,
        chart.label as line_label,
        chart.line_type,
        case when chart.line_type = 'line' then coalesce(posted.amount_brl, 0) else 0 end as line_amount_brl
    from months
    cross join chart
    left join posted
        on posted.month = months.month
        and posted.line_key = chart.line_key
),
{{ dre_statement('grid', ['month', 'is_complete']) }}
