{{ config(meta={'dagster': {'ref': {'name': 'int_dre_lines_monthly'}}}) }}
{{ config(severity='warn') }}
-- Expense months outside the reporting months (before the first order's month or after the
-- newest order's month) are not in `fct_dre_monthly`. A warning: it is legitimate before the
-- first sale, but those costs do not show in the DRE.
select components.month, components.line_key, sum(components.amount_brl) as amount_brl
from {{ ref('int_dre_lines_monthly') }} as components
where not exists (
    select 1 from {{ ref('int_reporting_months') }} as months where months.month = components.month
)
group by components.month, components.line_key
