-- Orders from the orders worksheet (one-off `avulso` purchases) and from `cro import orders`
-- files (`order_type` = 'import': a company's own order export, its recurring revenue).
select
    order_id,
    customer_id,
    order_date,
    amount_brl,
    channel,
    plan,
    coalesce(order_type, 'import') as order_type
from {{ source('raw_sheets', 'orders') }}
