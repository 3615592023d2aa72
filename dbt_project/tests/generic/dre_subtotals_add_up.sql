{#- METRICS.md DRE identity: in every statement (the rows sharing `statement_columns`, e.g. one
    month) each subtotal equals the sum of the signed lines above it (receita_liquida =
    receita_bruta + deducoes, …, lucro_liquido = every line). Computed by a self-join,
    independently of the models' running sum. Failures: the subtotals that differ. -#}
{% test dre_subtotals_add_up(model, statement_columns) %}
with lines_above as (
    select
        {% for column in statement_columns %}subtotal.{{ column }}, {% endfor %}
        subtotal.line_key,
        subtotal.amount_brl,
        coalesce(sum(line.amount_brl), 0) as lines_above_brl
    from {{ model }} as subtotal
    left join {{ model }} as line
        on line.line_type = 'line'
        and line.line_order < subtotal.line_order
        {% for column in statement_columns %}and line.{{ column }} = subtotal.{{ column }} {% endfor %}
    where subtotal.line_type = 'subtotal'
    group by {% for column in statement_columns %}subtotal.{{ column }}, {% endfor %}subtotal.line_key, subtotal.amount_brl
)

select *
from lines_above
where amount_brl <> lines_above_brl
{% endtest %}
