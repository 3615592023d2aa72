{{ config(meta={'dagster': {'ref': {'name': 'int_dre_lines_monthly'}}}) }}
-- Amounts are posted to `line` rows of the chart only: an expense category of the sheet or a tax's
-- `dre_line` that is unknown or names a subtotal would be dropped from the DRE. Failures: the
-- components whose line is not a `line` of the chart.
select components.*
from {{ ref('int_dre_lines_monthly') }} as components
left join {{ ref('dre_chart_of_accounts') }} as chart
    on chart.line_key = components.line_key
where chart.line_type is null
    or chart.line_type <> 'line'
