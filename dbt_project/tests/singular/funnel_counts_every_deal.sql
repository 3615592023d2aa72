{{ config(meta={'dagster': {'ref': {'name': 'fct_sales_funnel'}}}) }}
-- The all_deals funnel holds every pipeline deal once; the first_deal funnel one deal per contact.
with funnel as (
    select funnel, sum(deals_in_stage) as deals
    from {{ ref('fct_sales_funnel') }}
    group by funnel
), pipeline_deals as (
    select deal_id, contact_id
    from {{ ref('stg_hubspot__deals') }}
    where deal_stage in (
        'appointmentscheduled', 'qualifiedtobuy', 'presentationscheduled', 'decisionmakerboughtin',
        'contractsent', 'closedwon', 'closedlost'
    )
), expected as (
    select 'all_deals' as funnel, count(*) as deals from pipeline_deals
    union all
    select 'first_deal' as funnel, count(distinct contact_id) as deals from pipeline_deals
)

select expected.funnel, expected.deals as expected_deals, funnel.deals as funnel_deals
from expected
left join funnel on expected.funnel = funnel.funnel
where coalesce(funnel.deals, 0) <> expected.deals
