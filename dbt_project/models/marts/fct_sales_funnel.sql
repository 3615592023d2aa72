-- The HubSpot deal pipeline as a funnel, in two views (`funnel`):
--   all_deals   every deal. In this business every paid subscription order is one closed-won
--               deal, so renewals dominate closedwon and its win rate;
--   first_deal  each contact's first deal in this pipeline (by create time, then deal id): the
--               acquisition funnel.
-- Per stage: deals now in it, deals that reached at least it (a deal in a later stage or
-- closed-won passed every earlier stage; a closed-lost deal is only known to have entered the
-- pipeline, so it counts as reaching the first stage), conversion from the previous stage, amount.
-- Funnel-wide on every row: win rate = won / (won + lost); velocity = days from create to close of
-- won deals (median and average, from the timestamps).
with stages as (
    select * from (
        values
            ('appointmentscheduled', 1, true),
            ('qualifiedtobuy', 2, true),
            ('presentationscheduled', 3, true),
            ('decisionmakerboughtin', 4, true),
            ('contractsent', 5, true),
            ('closedwon', 6, false),
            ('closedlost', 7, false)
    ) as stage_list (deal_stage, stage_order, is_open_stage)
), deals as (
    select
        deals.deal_id,
        deals.contact_id,
        deals.deal_stage,
        deals.amount_brl,
        -- fractional days from create to close (closed deals only)
        (extract(epoch from deals.closed_at) - extract(epoch from deals.created_at)) / 86400.0 as days_to_close,
        deals.created_at
    from {{ ref('stg_hubspot__deals') }} as deals
    inner join stages on deals.deal_stage = stages.deal_stage
), contact_first_created as (
    select contact_id, min(created_at) as first_created_at
    from deals
    where contact_id is not null
    group by contact_id
), first_deal_ids as (
    -- each contact's earliest deal; the lowest deal id breaks a tie on the create time
    select deals.contact_id, min(deals.deal_id) as deal_id
    from deals
    inner join contact_first_created
        on deals.contact_id = contact_first_created.contact_id
       and deals.created_at = contact_first_created.first_created_at
    group by deals.contact_id
), funnel_deals as (
    select 'all_deals' as funnel, deal_stage, amount_brl, days_to_close from deals
    union all
    select 'first_deal' as funnel, deals.deal_stage, deals.amount_brl, deals.days_to_close
    from deals
    inner join first_deal_ids on deals.deal_id = first_deal_ids.deal_id
), in_stage as (
    select
        funnel,
        deal_stage,
        count(*) as deals_in_stage,
        sum(amount_brl) as amount_brl,
        -- velocity, used from the closedwon row
        percentile_cont(0.5) within group (order by days_to_close) as median_days_to_close,
        avg(days_to_close) as avg_days_to_close
    from funnel_deals
    group by funnel, deal_stage
), funnels as (
    select distinct funnel from in_stage
), grid as (
    select funnels.funnel, stages.deal_stage, stages.stage_order, stages.is_open_stage
    from funnels cross join stages
), counted as (
    select
        grid.funnel,
        grid.deal_stage,
        grid.stage_order,
        grid.is_open_stage,
        coalesce(in_stage.deals_in_stage, 0) as deals_in_stage,
        coalesce(in_stage.amount_brl, 0) as amount_brl,
        in_stage.median_days_to_close,
        in_stage.avg_days_to_close
    from grid
    left join in_stage on grid.funnel = in_stage.funnel and grid.deal_stage = in_stage.deal_stage
), reached as (
    select
        counted.*,
        cast(case
            when deal_stage = 'closedlost' then deals_in_stage
            -- open and won deals in this stage or a later one (closedlost, last in this order, adds 0)
            else sum(case when deal_stage <> 'closedlost' then deals_in_stage else 0 end) over (
                partition by funnel order by stage_order desc rows between unbounded preceding and current row
            )
            -- lost deals entered the pipeline: they count in its first stage
            + case when stage_order = 1 then
                sum(case when deal_stage = 'closedlost' then deals_in_stage else 0 end) over (partition by funnel)
              else 0 end
        end as bigint) as deals_reached
    from counted
), outcomes as (
    select
        funnel,
        sum(case when deal_stage = 'closedwon' then deals_in_stage else 0 end) as won_deals,
        sum(case when deal_stage = 'closedlost' then deals_in_stage else 0 end) as lost_deals,
        max(case when deal_stage = 'closedwon' then median_days_to_close end) as median_days_to_win,
        max(case when deal_stage = 'closedwon' then avg_days_to_close end) as avg_days_to_win
    from counted
    group by funnel
), assembled as (
    select
        reached.funnel,
        reached.deal_stage,
        reached.stage_order,
        reached.is_open_stage,
        reached.deals_in_stage,
        {{ money('reached.amount_brl') }} as amount_brl,
        reached.deals_reached,
        lag(reached.deals_reached) over (partition by reached.funnel order by reached.stage_order) as previous_stage_reached,
        first_value(reached.deals_reached) over (partition by reached.funnel order by reached.stage_order) as pipeline_deals
    from reached
)

select
    assembled.funnel,
    assembled.deal_stage,
    assembled.stage_order,
    assembled.is_open_stage,
    assembled.deals_in_stage,
    assembled.amount_brl,
    assembled.deals_reached,
    case when assembled.deal_stage <> 'closedlost' then
        {{ safe_divide('assembled.deals_reached', 'assembled.previous_stage_reached') }}
    end as conversion_from_previous_rate,
    {{ safe_divide('assembled.deals_reached', 'assembled.pipeline_deals') }} as reached_pct,
    cast(outcomes.won_deals as bigint) as won_deals,
    cast(outcomes.lost_deals as bigint) as lost_deals,
    {{ safe_divide('outcomes.won_deals', 'outcomes.won_deals + outcomes.lost_deals') }} as win_rate,
    {{ to_double('outcomes.median_days_to_win') }} as median_days_to_win,
    {{ to_double('outcomes.avg_days_to_win') }} as avg_days_to_win
from assembled
inner join outcomes on assembled.funnel = outcomes.funnel
