-- Customer lifetime value (METRICS.md "LTV, historical" and "LTV, formula").
--  * historical: cumulative gross profit per customer of a cohort (or of a channel's customers)
--    through month k after the cohort month, k = 3, 6, 12, 24 as in the cohort matrix (months
--    c..c+k). A row is mature when month c+k is complete for every customer counted; channel rows
--    count only the customers whose c+k is complete.
--  * formula: ARPA × gross margin % ÷ trailing 6-month logo churn (current month excluded), per
--    channel and overall, as of the last complete month.
-- Gross profit of a customer-month = its revenue × the month's gross margin % from the DRE.
with margins as (
    select month, gross_margin_pct from {{ ref('fct_unit_economics') }}
), last_complete as (
    select max(month) as month from {{ ref('int_reporting_months') }} where is_complete
), horizons as (
    select horizon_months from (values (3), (6), (12), (24)) as h(horizon_months)
), customer_profit as (
    select
        customers.customer_id,
        customers.cohort_month,
        customers.acquisition_channel,
        {{ months_between('customers.cohort_month', 'customer_months.month') }} as months_since_cohort,
        customer_months.revenue_brl * margins.gross_margin_pct as gross_profit_brl
    from {{ ref('int_customer_months') }} as customer_months
    inner join {{ ref('int_customers') }} as customers on customer_months.customer_id = customers.customer_id
    left join margins on customer_months.month = margins.month
), profit_by_customer as (
    select
        customer_id,
        {% for horizon in [3, 6, 12, 24] -%}
        sum(case when months_since_cohort <= {{ horizon }} then gross_profit_brl end) as gross_profit_{{ horizon }}_brl
        {%- if not loop.last %},{% endif %}
        {% endfor %}
    from customer_profit
    group by customer_id
), profit_to_horizon as (
    select
        customers.cohort_month,
        customers.acquisition_channel,
        customers.customer_id,
        horizons.horizon_months,
        {{ add_months('customers.cohort_month', 'horizons.horizon_months') }}
            <= (select month from last_complete) as is_mature,
        case horizons.horizon_months
            {% for horizon in [3, 6, 12, 24] -%}
            when {{ horizon }} then profit.gross_profit_{{ horizon }}_brl
            {% endfor -%}
        end as gross_profit_brl
    from {{ ref('int_customers') }} as customers
    cross join horizons
    left join profit_by_customer as profit on customers.customer_id = profit.customer_id
), historical_by_cohort as (
    select
        'historical' as method,
        'cohort' as dimension,
        cast(cohort_month as varchar) as dimension_value,
        horizon_months,
        bool_and(is_mature) as is_mature,
        count(*) as customers,
        {{ safe_divide('coalesce(sum(gross_profit_brl), 0)', 'count(*)') }} as ltv_brl
    from profit_to_horizon
    group by cohort_month, horizon_months
), historical_by_channel as (
    select
        'historical' as method,
        'channel' as dimension,
        acquisition_channel as dimension_value,
        horizon_months,
        true as is_mature,
        count(*) as customers,
        {{ safe_divide('coalesce(sum(gross_profit_brl), 0)', 'count(*)') }} as ltv_brl
    from profit_to_horizon
    where is_mature
    group by acquisition_channel, horizon_months
), channel_churn as (
    select
        month,
        acquisition_channel,
        arpa_brl,
        avg(logo_churn_rate) over (
            partition by acquisition_channel order by month rows between 6 preceding and 1 preceding
        ) as trailing_6m_logo_churn_rate
    from {{ ref('fct_churn_by_channel_monthly') }}
), formula_by_channel as (
    select
        'formula' as method,
        'channel' as dimension,
        channel_churn.acquisition_channel as dimension_value,
        cast(null as integer) as horizon_months,
        true as is_mature,
        cast(null as bigint) as customers,
        {{ safe_divide('channel_churn.arpa_brl * margins.gross_margin_pct', 'channel_churn.trailing_6m_logo_churn_rate') }}
            as ltv_brl
    from channel_churn
    inner join margins on channel_churn.month = margins.month
    where channel_churn.month = (select month from last_complete)
), formula_overall as (
    select
        'formula' as method,
        'all' as dimension,
        'all' as dimension_value,
        cast(null as integer) as horizon_months,
        true as is_mature,
        cast(null as bigint) as customers,
        ltv_formula_brl as ltv_brl
    from {{ ref('fct_unit_economics') }}
    where month = (select month from last_complete)
)

select * from historical_by_cohort
union all
select * from historical_by_channel
union all
select * from formula_by_channel
union all
select * from formula_overall
