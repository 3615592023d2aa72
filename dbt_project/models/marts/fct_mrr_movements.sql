{{
    config(
        materialized='incremental',
        unique_key='month',
        incremental_strategy='delete+insert',
    )
}}
-- MRR movements per customer and month (METRICS.md "MRR movements"): one row for every month a
-- customer has MRR, plus one `churn` row in the month after their MRR stops.
-- Incremental: rebuilds whole months from the earliest month int_customer_months rebuilt since
-- the previous run (reading one month before it for the comparison).
with
{% if is_incremental() %}
since as ({{ first_month_to_rebuild(ref('int_customer_months'), 'month') }}),
{% endif %}
first_months as (
    -- new vs reactivation needs only the first month with MRR, not the whole history
    select customer_id, min(month) as first_mrr_month
    from {{ ref('int_customer_months') }}
    where mrr_brl > 0
    group by customer_id
), active as (
    select customer_id, month, mrr_brl
    from {{ ref('int_customer_months') }}
    where mrr_brl > 0
    {% if is_incremental() %}
      and month >= (select {{ add_months('month', -1) }} from since)
    {% endif %}
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
        sequenced.customer_id,
        sequenced.month,
        sequenced.mrr_brl,
        case
            when sequenced.previous_active_month = {{ add_months('sequenced.month', -1) }}
                then sequenced.previous_active_mrr
            else 0
        end as previous_mrr_brl,
        case
            when sequenced.month = first_months.first_mrr_month then 'new'
            when sequenced.previous_active_month is null
              or sequenced.previous_active_month <> {{ add_months('sequenced.month', -1) }} then 'reactivation'
            when sequenced.mrr_brl > sequenced.previous_active_mrr then 'expansion'
            when sequenced.mrr_brl < sequenced.previous_active_mrr then 'contraction'
            else 'retained'
        end as movement
    from sequenced
    inner join first_months on sequenced.customer_id = first_months.customer_id
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
    customers.cohort_month,
    current_timestamp as loaded_at
from movements
left join {{ ref('int_customers') }} as customers on movements.customer_id = customers.customer_id
{% if is_incremental() %}
where movements.month >= (select month from since)
{% endif %}
