-- The months the marts report on: from the first order's month to the newest order's month.
-- A month is complete once the data reaches its last day (the current month usually is not).
with bounds as (
    select
        min(order_month) as first_month,
        max(order_month) as last_month,
        {% if var('as_of_date') %} cast('{{ var("as_of_date") }}' as date) {% else %} max(order_date) {% endif %}
            as as_of_date
    from {{ ref('fct_orders') }}
), months as (
    select cast(month_ts as date) as month
    from bounds, generate_series(
        cast(bounds.first_month as timestamp), cast(bounds.last_month as timestamp), interval '1 month'
    ) as series(month_ts)
)

select
    months.month,
    {{ add_months('months.month', 1) }} as next_month,
    {{ add_months('months.month', -1) }} as previous_month,
    {{ add_months('months.month', 1) }} - 1 <= bounds.as_of_date as is_complete,
    bounds.as_of_date
from months cross join bounds
