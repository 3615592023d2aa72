-- MRR movements per customer and month (METRICS.md "MRR movements"): one row for every month a
-- customer has MRR, plus one `churn` row in the month after their MRR stops.
with active as (
    select customer_id, month, mrr_brl
    from {{ ref('int_customer_months') }}
    where mrr_brl > 0
), sequenced as (
    select
        customer_id,
        month,
        mrr_brl,
        lag(month) over by_customer as previous_active_month,
        lag(mrr_brl) over by_customer as previous_active_mrr,
        lead(month) over by_customer as next_active_month
    from active
    window by_customer as (partition by customer_id order by month)
), active_rows as (
    select
        customer_id,
        month,
        mrr_brl,
        case
            when previous_active_month = {{ add_months('month', -1) }} then previous_active_mrr else 0
        end as previous_mrr_brl,
        case
            when previous_active_month is null then 'new'
            when previous_active_month <> {{ add_months('month', -1) }} then 'reactivation'
            when mrr_brl > previous_active_mrr then 'expansion'
            when mrr_brl < previous_active_mrr then 'contraction'
            else 'retained'
        end as movement
    from sequenced
), churn_rows as (
    select
        customer_id,
        {{ add_months('month', 1) }} as month,
        {{ to_double(0) }} as mrr_brl,
        mrr_brl as previous_mrr_brl,
        'churn' as movement
    from sequenced
    where (next_active_month is null or next_active_month <> {{ add_months('month', 1) }})
      and {{ add_months('month', 1) }} <= (select max(month) from {{ ref('int_reporting_months') }})
), movements as (
    select * from active_rows
    union all
    select * from churn_rows
)

select
    movements.customer_id,
    movements.month,
    movements.movement,
    movements.previous_mrr_brl,
    movements.mrr_brl,
    movements.mrr_brl - movements.previous_mrr_brl as mrr_change_brl,
    customers.acquisition_channel,
    customers.cohort_month
from movements
left join {{ ref('int_customers') }} as customers on movements.customer_id = customers.customer_id
