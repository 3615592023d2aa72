-- METRICS.md DRE identity: every subtotal of every month equals the sum of the signed lines above
-- it (receita_liquida = receita_bruta + deducoes, …, lucro_liquido = every line). Computed by a
-- self-join, independently of the model's running sum. Failures: the subtotals that differ.
with dre as (
    select month, line_order, line_key, line_type, amount_brl
    from {{ ref('fct_dre_monthly') }}
), lines_above as (
    select
        subtotal.month,
        subtotal.line_key,
        subtotal.amount_brl,
        coalesce(sum(line.amount_brl), 0) as lines_above_brl
    from dre as subtotal
    left join dre as line
        on line.month = subtotal.month
        and line.line_type = 'line'
        and line.line_order < subtotal.line_order
    where subtotal.line_type = 'subtotal'
    group by subtotal.month, subtotal.line_key, subtotal.amount_brl
)

select *
from lines_above
where amount_brl <> lines_above_brl
