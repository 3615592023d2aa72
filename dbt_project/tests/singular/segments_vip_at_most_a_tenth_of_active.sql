-- VIPs are at most 10% of the active customers (ties never push the segment past it).
select
    count(case when segment = 'vip' then 1 end) as vips,
    count(case when is_active then 1 end) as active_customers
from {{ ref('dim_segments') }}
having count(case when segment = 'vip' then 1 end) * 10 > count(case when is_active then 1 end)
