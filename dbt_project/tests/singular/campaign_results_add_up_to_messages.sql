{{ config(meta={'dagster': {'ref': {'name': 'fct_campaign_results'}}}) }}
-- Every campaign message is counted once in fct_campaign_results, in its campaign and variant.
with messages as (
    select
        campaign_id,
        variant,
        count(*) as sent,
        count(case when is_delivered then 1 end) as delivered,
        count(case when is_converted then 1 end) as converted_messages
    from {{ ref('int_campaign_messages') }}
    group by campaign_id, variant
)

select messages.*, results.sent as result_sent, results.delivered as result_delivered
from messages
left join {{ ref('fct_campaign_results') }} as results
    on messages.campaign_id = results.campaign_id and messages.variant = results.variant
where results.sent is null
   or results.sent <> messages.sent
   or results.delivered <> messages.delivered
   or results.converted > messages.converted_messages
