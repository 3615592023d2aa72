-- Every amount posted to a DRE line: month × line × component (sparse: months with data only),
-- signed as the DRE shows it (chart `sign` × the source amount; sources report costs as positive,
-- `resultado_financeiro` already signed). Components: revenue parts from `fct_orders`, one per
-- account of the expenses sheet, one per tax of the configured regime (`var('tax_regime')`, rows of
-- the `tax_regimes` seed). Subtotals are not here: `fct_dre_monthly` computes them.
--
-- Tax bases (`tax_regimes.base`): `receita_bruta` (the DRE line), `receita_tributavel` (receita
-- bruta less cancellations/refunds and unconditional discounts, the legal base of the DAS and of
-- PIS/COFINS/IRPJ/CSLL presumido) and `lair` (profit before income taxes, taxed only when > 0).
with chart as (
    select line_key, line_order, line_type, sign
    from {{ ref('dre_chart_of_accounts') }}
), regime_taxes as (
    select tax, dre_line, base, rate
    from {{ ref('tax_regimes') }}
    where tax_regime = '{{ var("tax_regime") }}'
), revenue as (
    select
        order_month as month,
        sum(case when order_kind = 'subscription' then list_amount_brl else 0 end) as subscriptions_brl,
        sum(case when order_kind = 'one_off' then list_amount_brl else 0 end) as one_offs_brl,
        sum(shipping_brl) as freight_brl,
        sum(refund_brl) as refunds_brl,
        sum(discount_brl) as discounts_brl
    from {{ ref('fct_orders') }}
    group by order_month
), revenue_components as (
    select month, 'receita_bruta' as line_key, 'orders' as component_source, 'assinaturas' as component,
        subscriptions_brl as source_amount_brl
    from revenue
    union all
    select month, 'receita_bruta', 'orders', 'avulsos', one_offs_brl from revenue
    union all
    select month, 'receita_bruta', 'orders', 'frete_cobrado', freight_brl from revenue
    union all
    select month, 'deducoes', 'orders', 'cancelamentos_devolucoes', refunds_brl from revenue
    union all
    select month, 'deducoes', 'orders', 'descontos', discounts_brl from revenue
), expense_components as (
    select
        expense_month as month,
        dre_line as line_key,
        'expenses' as component_source,
        account as component,
        sum(amount_brl) as source_amount_brl
    from {{ ref('stg_sheets__expenses') }}
    group by expense_month, dre_line, account
), revenue_bases as (
    select
        month,
        subscriptions_brl + one_offs_brl + freight_brl as receita_bruta_brl,
        subscriptions_brl + one_offs_brl + freight_brl - refunds_brl - discounts_brl as receita_tributavel_brl
    from revenue
), revenue_taxes as (
    -- taxes on revenue (DAS, PIS, COFINS, ICMS, IRPJ/CSLL presumido), each rounded to the cent
    select
        revenue_bases.month,
        regime_taxes.dre_line as line_key,
        'taxes' as component_source,
        regime_taxes.tax as component,
        round(
            regime_taxes.rate * case regime_taxes.base
                when 'receita_bruta' then revenue_bases.receita_bruta_brl
                else revenue_bases.receita_tributavel_brl
            end,
            2
        ) as source_amount_brl
    from revenue_bases
    cross join regime_taxes
    where regime_taxes.base in ('receita_bruta', 'receita_tributavel')
), before_profit_taxes as (
    select * from revenue_components
    union all
    select * from expense_components
    union all
    select * from revenue_taxes
), signed as (
    select
        before_profit_taxes.month,
        before_profit_taxes.line_key,
        chart.line_order,
        before_profit_taxes.component_source,
        before_profit_taxes.component,
        coalesce(chart.sign, 1) * before_profit_taxes.source_amount_brl as amount_brl
    from before_profit_taxes
    left join chart on chart.line_key = before_profit_taxes.line_key
), lair as (
    -- LAIR before the taxes on profit: every line above the `lair` subtotal
    select
        month,
        sum(amount_brl) as lair_brl
    from signed
    where line_order < (select line_order from chart where line_key = 'lair')
    group by month
), profit_taxes as (
    -- taxes on profit (IRPJ/CSLL under lucro real): rate × LAIR when LAIR > 0
    select
        lair.month,
        regime_taxes.dre_line as line_key,
        chart.line_order,
        'taxes' as component_source,
        regime_taxes.tax as component,
        coalesce(chart.sign, 1) * round(regime_taxes.rate * (case when lair.lair_brl > 0 then lair.lair_brl else 0 end), 2)
            as amount_brl
    from lair
    cross join regime_taxes
    left join chart on chart.line_key = regime_taxes.dre_line
    where regime_taxes.base = 'lair'
), all_components as (
    select * from signed
    union all
    select * from profit_taxes
)

select
    month,
    line_key,
    line_order,
    component_source,
    component,
    {{ money('amount_brl') }} as amount_brl
from all_components
