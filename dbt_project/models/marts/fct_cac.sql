-- Customer acquisition cost per month and channel (METRICS.md "CAC, paid, by channel" and "CAC,
-- blended"). Paid CAC = the channel's media spend / customers it acquired that month. Blended CAC
-- (the same on every row of a month) = all sales & marketing spend / all new customers, where
-- the spend is the expense accounts the `acquisition_cost_accounts` seed names (the marketing line
-- and sales commissions) when expenses are loaded, else the media spend sheet.
with spend as (
    select spend_month as month, channel, sum(spend_brl) as spend_brl
    from {{ ref('stg_sheets__marketing_spend') }}
    group by spend_month, channel
), new_customers as (
    select cohort_month as month, acquisition_channel as channel, count(*) as new_customers
    from {{ ref('int_customers') }}
    group by cohort_month, acquisition_channel
), marketing_expenses as (
    select expenses.expense_month as month, sum(expenses.amount_brl) as amount_brl
    from {{ ref('stg_sheets__expenses') }} as expenses
    where exists (
        select 1
        from {{ ref('acquisition_cost_accounts') }} as accounts
        where accounts.dre_line = expenses.dre_line
          and (accounts.account = '*' or accounts.account = expenses.account)
    )
    group by expenses.expense_month
), channels as (
    select month, channel from spend
    union
    select month, channel from new_customers
), by_channel as (
    select
        channels.month,
        channels.channel,
        coalesce(spend.spend_brl, 0) as spend_brl,
        coalesce(new_customers.new_customers, 0) as new_customers
    from channels
    left join spend on channels.month = spend.month and channels.channel = spend.channel
    left join new_customers on channels.month = new_customers.month and channels.channel = new_customers.channel
), totals as (
    select
        by_channel.month,
        sum(by_channel.spend_brl) as media_spend_brl,
        sum(by_channel.new_customers) as total_new_customers
    from by_channel
    group by by_channel.month
)

select
    by_channel.month,
    months.is_complete,
    by_channel.channel,
    coalesce(reference_channels.is_paid, by_channel.spend_brl > 0) as is_paid_channel,
    by_channel.spend_brl,
    by_channel.new_customers,
    case
        when coalesce(reference_channels.is_paid, by_channel.spend_brl > 0)
            then {{ safe_divide('by_channel.spend_brl', 'by_channel.new_customers') }}
    end as paid_cac_brl,
    coalesce(marketing_expenses.amount_brl, totals.media_spend_brl) as sales_marketing_spend_brl,
    totals.total_new_customers,
    {{ safe_divide('coalesce(marketing_expenses.amount_brl, totals.media_spend_brl)', 'totals.total_new_customers') }}
        as blended_cac_brl
from by_channel
inner join totals on by_channel.month = totals.month
left join marketing_expenses on by_channel.month = marketing_expenses.month
left join {{ ref('channels') }} as reference_channels on by_channel.channel = reference_channels.channel
left join {{ ref('int_reporting_months') }} as months on by_channel.month = months.month
