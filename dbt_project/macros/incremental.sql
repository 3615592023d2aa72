{#- Helpers of the incremental models. -#}

{#- The latest version of each HubSpot object in raw_hubspot.<table>; in an incremental run only
    the objects modified since the newest one already loaded (minus a day, for late writes). -#}
{% macro hubspot_latest_versions(table) %}
    select *
    from (
        select *, row_number() over (partition by id order by updated_at desc) as version_rank
        from {{ source('raw_hubspot', table) }}
        {% if is_incremental() %}
        where updated_at >= (select max(raw_updated_at) from {{ this }}) - interval '1 day'
        {% endif %}
    ) as versions
    where version_rank = 1 and not coalesce(archived, false)
{% endmacro %}

{#- The earliest month among the rows of `relation` (re)built since this model's last run: an
    incremental run rebuilds whole months from there on. -#}
{% macro first_month_to_rebuild(relation, month_column) %}
    select min({{ month_column }}) as month
    from {{ relation }}
    where loaded_at > (select max(loaded_at) from {{ this }})
{% endmacro %}
