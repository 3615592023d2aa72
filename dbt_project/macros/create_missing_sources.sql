{#- on-run-start: a source table the platform has not loaded yet (no CRM connected, no WhatsApp
    number, only an imported orders CSV) is created empty with the columns its yml declares, so
    the models build from whatever sources exist instead of failing on the missing ones.
    Returns the DDL for the hook to run (hooks commit; statements run while rendering may not). -#}
{% macro create_missing_sources() %}
    {% set statements = [] %}
    {% if execute %}
        {% for source in graph.sources.values() if source.columns %}
            {% set relation = adapter.get_relation(
                database=source.database, schema=source.schema, identifier=source.identifier
            ) %}
            {% if relation is none %}
                {% set columns = [] %}
                {% for column in source.columns.values() %}
                    {% do columns.append(adapter.quote(column.name) ~ " " ~ column.data_type) %}
                {% endfor %}
                {% do statements.append("create schema if not exists " ~ adapter.quote(source.schema)) %}
                {% do statements.append(
                    "create table if not exists " ~ adapter.quote(source.schema) ~ "." ~ adapter.quote(source.identifier)
                    ~ " (" ~ columns | join(", ") ~ ")"
                ) %}
                {{ log("source " ~ source.source_name ~ "." ~ source.name ~ " is not loaded yet: creating it empty", info=True) }}
            {% endif %}
        {% endfor %}
    {% endif %}
    {#- dbt-duckdb runs the hook inside a transaction it does not commit; PostgreSQL autocommits it -#}
    {% if statements and target.type == 'duckdb' %}{% do statements.append("commit") %}{% endif %}
    {{ return(statements | join(";\n") if statements else "select 1") }}
{% endmacro %}
