{{ config(meta={'dagster': {'ref': {'name': 'dim_segments'}}}) }}
-- Every customer who paid on or before the as-of date has exactly one segment.
select customers.customer_id
from {{ ref('int_customers') }} as customers
left join {{ ref('dim_segments') }} as segments on customers.customer_id = segments.customer_id
where customers.first_order_date <= (select max(as_of_date) from {{ ref('int_reporting_months') }})
  and segments.customer_id is null
