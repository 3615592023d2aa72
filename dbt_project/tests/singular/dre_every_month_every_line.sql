{{ config(meta={'dagster': {'ref': {'name': 'fct_dre_monthly'}}}) }}
-- Every reporting month has every line of the chart of accounts, with its chart position, label
-- and type. Failures: the (month, line) pairs that are missing or that disagree with the chart.
with expected as (
    select months.month, chart.line_key, chart.line_order, chart.label, chart.line_type
    from {{ ref('int_reporting_months') }} as months
    cross join {{ ref('dre_chart_of_accounts') }} as chart
)

select expected.*
from expected
left join {{ ref('fct_dre_monthly') }} as dre
    on dre.month = expected.month
    and dre.line_key = expected.line_key
where dre.line_key is null
    or dre.line_order <> expected.line_order
    or dre.line_label <> expected.label
    or dre.line_type <> expected.line_type
