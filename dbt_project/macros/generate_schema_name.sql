{#- Models land in the schema their folder names (staging, intermediate, marts, reference), not
    "<target schema>_<custom>", so the warehouse reads the same on DuckDB and PostgreSQL. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ custom_schema_name | trim if custom_schema_name else target.schema }}
{%- endmacro %}
