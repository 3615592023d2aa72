{#- The end of a DRE query: from `grid`, a CTE with one row per statement × chart line (the
    `statement_columns` that identify a statement, e.g. month; line_order, line_key, line_label,
    line_type; line_amount_brl: the signed amount of a line, 0 on subtotals), the lines as given,
    each subtotal the running sum of the signed lines above it (METRICS.md, Lei 6.404/76 art. 187)
    and every row's share of its statement's receita líquida. Continues a WITH list:
        with …, grid as (…),
        {{ dre_statement('grid', ['month', 'is_complete']) }} -#}
{% macro dre_statement(grid, statement_columns) %}
{%- set statement = statement_columns | join(', ') -%}
dre_running as (
    select
        {{ grid }}.*,
        sum(line_amount_brl) over (
            partition by {{ statement }} order by line_order rows between unbounded preceding and current row
        ) as lines_so_far_brl
    from {{ grid }}
), dre_amounts as (
    select
        {{ statement }},
        line_order,
        line_key,
        line_label,
        line_type,
        {{ money("case when line_type = 'line' then line_amount_brl else lines_so_far_brl end") }} as amount_brl
    from dre_running
)

select
    dre_amounts.*,
    {{ safe_divide(
        'amount_brl',
        "max(case when line_key = 'receita_liquida' then amount_brl end) over (partition by " ~ statement ~ ")"
    ) }} as pct_of_net_revenue
from dre_amounts
{% endmacro %}
