{{ config(tags=["after_forecasts"]) }}
-- The projected DRE: scenario × future month × chart line, for the months the receita_bruta
-- forecast covers (source `forecasts.revenue`, written by the Dagster asset forecasts/revenue).
--   receita_bruta   the scenario's value: its bound of the forecast (`forecast_scenarios` seed)
--                   × (1 + growth shock)^h × (1 − churn shock)^h, h = months after the last actual
--   other lines     by `dre_projection_drivers`: a share of receita bruta or the average month of
--                   the last var('projection_lookback_months') complete months of actuals
--   taxes           recomputed with the regime of the actuals (var('tax_regime'), `tax_regimes`)
--                   on the projected bases, as int_dre_lines_monthly does for actual months
--   subtotals       the running sum of the lines above (macro dre_statement, as fct_dre_monthly)
with chart as (
    select line_key, line_order, label, line_type, sign
    from {{ ref('dre_chart_of_accounts') }}
), drivers as (
    select line_key, driver from {{ ref('dre_projection_drivers') }}
), regime_taxes as (
    select tax, dre_line, base, rate
    from {{ ref('tax_regimes') }}
    where tax_regime = '{{ var("tax_regime") }}'
), lookback_months as (
    select month
    from {{ ref('int_reporting_months') }}
    where is_complete
    order by month desc
    limit {{ var('projection_lookback_months') }}
), lookback as (
    select min(month) as first_month, max(month) as last_month, count(*) as months from lookback_months
), actuals as (
    -- what the lookback months posted to each line, taxes left out (they are recomputed)
    select lines.line_key, sum(lines.amount_brl) as amount_brl
    from {{ ref('int_dre_lines_monthly') }} as lines
    inner join lookback_months on lookback_months.month = lines.month
    where lines.component_source <> 'taxes'
    group by lines.line_key
), actual_revenue as (
    select coalesce(max(case when line_key = 'receita_bruta' then amount_brl end), 0) as receita_bruta_brl
    from actuals
), line_rates as (
    select
        actuals.line_key,
        drivers.driver,
        case when drivers.driver = 'share_of_receita_bruta'
            then {{ safe_divide('actuals.amount_brl', 'actual_revenue.receita_bruta_brl') }} else 0 end
            as share_of_receita_bruta,
        case when drivers.driver = 'monthly_average'
            then {{ safe_divide('actuals.amount_brl', 'lookback.months') }} else 0 end as monthly_amount_brl
    from actuals
    inner join drivers on drivers.line_key = actuals.line_key
    cross join actual_revenue
    cross join lookback
    where drivers.driver in ('share_of_receita_bruta', 'monthly_average')
), forecast as (
    select
        forecast.ds as month,
        forecast.yhat,
        forecast.yhat_lower,
        forecast.yhat_upper,
        forecast.model,
        {{ months_between('lookback.last_month', 'forecast.ds') }} as months_ahead
    from {{ source('forecasts', 'revenue') }} as forecast
    cross join lookback
    where forecast.series = 'receita_bruta' and forecast.ds > lookback.last_month
), scenario_revenue as (
    select
        scenarios.scenario,
        scenarios.scenario_order,
        forecast.month,
        forecast.months_ahead,
        forecast.model as forecast_model,
        {{ to_double("case scenarios.interval_bound when 'lower' then forecast.yhat_lower
                                                     when 'upper' then forecast.yhat_upper
                                                     else forecast.yhat end") }} as forecast_brl,
        {{ to_double("case scenarios.interval_bound when 'lower' then forecast.yhat_lower
                                                     when 'upper' then forecast.yhat_upper
                                                     else forecast.yhat end") }}
            * power(1 + scenarios.monthly_growth_shock, forecast.months_ahead)
            * power(1 - scenarios.monthly_churn_shock, forecast.months_ahead) as receita_bruta_brl
    from forecast
    cross join {{ ref('forecast_scenarios') }} as scenarios
), projected_lines as (
    -- every line but the taxes: receita bruta, then the driven lines
    select scenario, month, 'receita_bruta' as line_key, receita_bruta_brl as amount_brl
    from scenario_revenue
    union all
    select
        scenario_revenue.scenario,
        scenario_revenue.month,
        line_rates.line_key,
        line_rates.share_of_receita_bruta * scenario_revenue.receita_bruta_brl + line_rates.monthly_amount_brl
    from scenario_revenue
    cross join line_rates
), bases as (
    select
        scenario_revenue.scenario,
        scenario_revenue.month,
        scenario_revenue.receita_bruta_brl,
        -- receita tributável: receita bruta less cancellations and discounts (signed negative in deduções)
        scenario_revenue.receita_bruta_brl + coalesce(deductions.amount_brl, 0) as receita_tributavel_brl
    from scenario_revenue
    left join projected_lines as deductions
        on deductions.scenario = scenario_revenue.scenario
        and deductions.month = scenario_revenue.month
        and deductions.line_key = 'deducoes'
), revenue_taxes as (
    select
        bases.scenario,
        bases.month,
        regime_taxes.dre_line as line_key,
        coalesce(chart.sign, 1) * regime_taxes.rate * case regime_taxes.base
            when 'receita_bruta' then bases.receita_bruta_brl
            else bases.receita_tributavel_brl
        end as amount_brl
    from bases
    cross join regime_taxes
    left join chart on chart.line_key = regime_taxes.dre_line
    where regime_taxes.base in ('receita_bruta', 'receita_tributavel')
), before_profit_taxes as (
    select * from projected_lines
    union all
    select * from revenue_taxes
), lair as (
    select before_profit_taxes.scenario, before_profit_taxes.month, sum(before_profit_taxes.amount_brl) as lair_brl
    from before_profit_taxes
    inner join chart on chart.line_key = before_profit_taxes.line_key
    where chart.line_order < (select line_order from chart where line_key = 'lair')
    group by before_profit_taxes.scenario, before_profit_taxes.month
), profit_taxes as (
    select
        lair.scenario,
        lair.month,
        regime_taxes.dre_line as line_key,
        coalesce(chart.sign, 1) * regime_taxes.rate * case when lair.lair_brl > 0 then lair.lair_brl else 0 end
            as amount_brl
    from lair
    cross join regime_taxes
    left join chart on chart.line_key = regime_taxes.dre_line
    where regime_taxes.base = 'lair'
), posted as (
    select scenario, month, line_key, sum(amount_brl) as amount_brl
    from (
        select * from before_profit_taxes
        union all
        select * from profit_taxes
    ) as all_lines
    group by scenario, month, line_key
), grid as (
    select
        scenario_revenue.scenario,
        scenario_revenue.scenario_order,
        scenario_revenue.month,
        scenario_revenue.months_ahead,
        scenario_revenue.forecast_model,
        scenario_revenue.forecast_brl,
        chart.line_order,
        chart.line_key,
        chart.label as line_label,
        chart.line_type,
        -- rounded to the cent per line, so subtotals add up exactly as in fct_dre_monthly
        case when chart.line_type = 'line' then {{ money('coalesce(posted.amount_brl, 0)') }} else 0 end
            as line_amount_brl
    from scenario_revenue
    cross join chart
    left join posted
        on posted.scenario = scenario_revenue.scenario
        and posted.month = scenario_revenue.month
        and posted.line_key = chart.line_key
),
{{ dre_statement('grid', ['scenario', 'scenario_order', 'month', 'months_ahead', 'forecast_model', 'forecast_brl']) }}
