-- Along the pipeline (stages 1..6) no stage is reached by more deals than the one before it,
-- and every deal of the funnel reached the first stage.
with ordered as (
    select
        funnel,
        stage_order,
        deals_reached,
        lag(deals_reached) over (partition by funnel order by stage_order) as previous_reached
    from {{ ref('fct_sales_funnel') }}
    where deal_stage <> 'closedlost'
), totals as (
    select funnel, sum(deals_in_stage) as funnel_deals
    from {{ ref('fct_sales_funnel') }}
    group by funnel
)

select ordered.*, totals.funnel_deals
from ordered
inner join totals on ordered.funnel = totals.funnel
where ordered.deals_reached > ordered.previous_reached
   or (ordered.stage_order = 1 and ordered.deals_reached <> totals.funnel_deals)
