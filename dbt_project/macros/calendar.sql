{#- Calendar helpers that read the same on DuckDB and PostgreSQL. -#}

{#- The São Paulo calendar date of a UTC timestamp (an order at 22:30 local on the 31st is the 31st). -#}
{% macro local_date(timestamp_column) -%}
    cast(({{ timestamp_column }} at time zone '{{ var("timezone") }}') as date)
{%- endmacro %}

{%- macro month_start(date_expression) -%}
    cast(date_trunc('month', {{ date_expression }}) as date)
{%- endmacro %}

{#- First day of the month `months` after the month of `date_expression` (negative goes back). -#}
{%- macro add_months(date_expression, months) -%}
    cast(date_trunc('month', {{ date_expression }}) + ({{ months }}) * interval '1 month' as date)
{%- endmacro %}

{#- Whole calendar months from `start_date`'s month to `end_date`'s month. -#}
{%- macro months_between(start_date, end_date) -%}
    (
        (cast(extract(year from {{ end_date }}) as integer) - cast(extract(year from {{ start_date }}) as integer)) * 12
        + cast(extract(month from {{ end_date }}) as integer) - cast(extract(month from {{ start_date }}) as integer)
    )
{%- endmacro %}

{%- macro days_between(start_date, end_date) -%}
    (cast({{ end_date }} as date) - cast({{ start_date }} as date))
{%- endmacro %}
