{{ config(meta={'dagster': {'ref': {'name': 'fct_dre_projected'}}}) }}
-- Every scenario's projected receita bruta is its bound of the forecast compounded by its shocks
-- (`forecast_scenarios`), recomputed here. Failures: the scenario-months that differ by a cent or more.
select
    projected.scenario,
    projected.month,
    projected.amount_brl,
    projected.forecast_brl
        * power(1 + scenarios.monthly_growth_shock, projected.months_ahead)
        * power(1 - scenarios.monthly_churn_shock, projected.months_ahead) as expected_brl
from {{ ref('fct_dre_projected') }} as projected
inner join {{ ref('forecast_scenarios') }} as scenarios on scenarios.scenario = projected.scenario
where projected.line_key = 'receita_bruta'
  and abs(
      projected.amount_brl
      - projected.forecast_brl
        * power(1 + scenarios.monthly_growth_shock, projected.months_ahead)
        * power(1 - scenarios.monthly_churn_shock, projected.months_ahead)
  ) >= 0.01
