{#- Arithmetic that gives the same numbers on DuckDB and PostgreSQL. -#}

{%- macro to_double(expression) -%}
    cast({{ expression }} as double precision)
{%- endmacro %}

{#- numerator / denominator as a double, null when the denominator is 0 or null. -#}
{%- macro safe_divide(numerator, denominator) -%}
    (cast({{ numerator }} as double precision) / nullif(cast({{ denominator }} as double precision), 0))
{%- endmacro %}

{%- macro money(expression) -%}
    cast({{ expression }} as decimal(18, 2))
{%- endmacro %}
