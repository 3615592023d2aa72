-- marts.fct_dre_monthly and marts.fct_dre_projected for the Finance agent (tests/agents/test_finance.py
-- computes every number again).
--
-- fct_dre_monthly: 2025-10, 2026-09 and 2026-10 complete (all 15 lines), 2026-11 in progress (a decoy).
-- 2026-10: receita bruta 10,000, receita líquida 9,000, lucro bruto 5,400 (60 %), EBITDA 1,350 (15 %), lucro
-- líquido 1,080 (12 %). Against 2026-09 (receita líquida 8,000, EBITDA 1,400, lucro líquido 1,200): +12.5 %,
-- −3.57 %, −10 %; the largest expense movements are marketing −600 (−1,200 → −1,800), CMV −400 and vendas −100.
-- Against 2025-10 (receita líquida 5,400, EBITDA 540, lucro líquido 432): +66.67 %, +150 %, +150 %.
-- 2026-08 and 2025-09 are absent: September 2026 has nothing to compare with.
-- pct_of_net_revenue = amount ÷ the month's receita líquida, as in the mart.
create table marts.fct_dre_monthly as
with chart (line_order, line_key, line_label, line_type) as (
    values
        (1, 'receita_bruta', 'Receita Bruta', 'line'),
        (2, 'deducoes', '(−) Deduções', 'line'),
        (3, 'receita_liquida', '= Receita Líquida', 'subtotal'),
        (4, 'cmv', '(−) CMV', 'line'),
        (5, 'lucro_bruto', '= Lucro Bruto', 'subtotal'),
        (6, 'despesas_vendas', '(−) Despesas com vendas', 'line'),
        (7, 'despesas_marketing', '(−) Despesas de marketing', 'line'),
        (8, 'despesas_administrativas', '(−) Despesas administrativas e pessoal', 'line'),
        (9, 'ebitda', '= EBITDA', 'subtotal'),
        (10, 'depreciacao_amortizacao', '(−) Depreciação e amortização', 'line'),
        (11, 'ebit', '= EBIT (resultado operacional)', 'subtotal'),
        (12, 'resultado_financeiro', '(±) Resultado financeiro', 'line'),
        (13, 'lair', '= LAIR (lucro antes do IR/CSLL)', 'subtotal'),
        (14, 'ir_csll', '(−) IRPJ/CSLL', 'line'),
        (15, 'lucro_liquido', '= Lucro Líquido', 'subtotal')
), amounts (month, is_complete, line_key, amount) as (
    values
        (date '2025-10-01', true, 'receita_bruta', 6000), (date '2025-10-01', true, 'deducoes', -600),
        (date '2025-10-01', true, 'receita_liquida', 5400), (date '2025-10-01', true, 'cmv', -2160),
        (date '2025-10-01', true, 'lucro_bruto', 3240), (date '2025-10-01', true, 'despesas_vendas', -540),
        (date '2025-10-01', true, 'despesas_marketing', -1080),
        (date '2025-10-01', true, 'despesas_administrativas', -1080), (date '2025-10-01', true, 'ebitda', 540),
        (date '2025-10-01', true, 'depreciacao_amortizacao', -54), (date '2025-10-01', true, 'ebit', 486),
        (date '2025-10-01', true, 'resultado_financeiro', -54), (date '2025-10-01', true, 'lair', 432),
        (date '2025-10-01', true, 'ir_csll', 0), (date '2025-10-01', true, 'lucro_liquido', 432),

        (date '2026-09-01', true, 'receita_bruta', 8800), (date '2026-09-01', true, 'deducoes', -800),
        (date '2026-09-01', true, 'receita_liquida', 8000), (date '2026-09-01', true, 'cmv', -3200),
        (date '2026-09-01', true, 'lucro_bruto', 4800), (date '2026-09-01', true, 'despesas_vendas', -800),
        (date '2026-09-01', true, 'despesas_marketing', -1200),
        (date '2026-09-01', true, 'despesas_administrativas', -1400), (date '2026-09-01', true, 'ebitda', 1400),
        (date '2026-09-01', true, 'depreciacao_amortizacao', -80), (date '2026-09-01', true, 'ebit', 1320),
        (date '2026-09-01', true, 'resultado_financeiro', -120), (date '2026-09-01', true, 'lair', 1200),
        (date '2026-09-01', true, 'ir_csll', 0), (date '2026-09-01', true, 'lucro_liquido', 1200),

        (date '2026-10-01', true, 'receita_bruta', 10000), (date '2026-10-01', true, 'deducoes', -1000),
        (date '2026-10-01', true, 'receita_liquida', 9000), (date '2026-10-01', true, 'cmv', -3600),
        (date '2026-10-01', true, 'lucro_bruto', 5400), (date '2026-10-01', true, 'despesas_vendas', -900),
        (date '2026-10-01', true, 'despesas_marketing', -1800),
        (date '2026-10-01', true, 'despesas_administrativas', -1350), (date '2026-10-01', true, 'ebitda', 1350),
        (date '2026-10-01', true, 'depreciacao_amortizacao', -90), (date '2026-10-01', true, 'ebit', 1260),
        (date '2026-10-01', true, 'resultado_financeiro', -180), (date '2026-10-01', true, 'lair', 1080),
        (date '2026-10-01', true, 'ir_csll', 0), (date '2026-10-01', true, 'lucro_liquido', 1080),

        (date '2026-11-01', false, 'receita_bruta', 99999), (date '2026-11-01', false, 'receita_liquida', 50000),
        (date '2026-11-01', false, 'lucro_liquido', 40000)
)
select
    amounts.month,
    amounts.is_complete,
    chart.line_order,
    chart.line_key,
    chart.line_label,
    chart.line_type,
    cast(amounts.amount as decimal(18, 2)) as amount_brl,
    amounts.amount / nullif(sum(case when chart.line_key = 'receita_liquida' then amounts.amount end)
        over (partition by amounts.month), 0) as pct_of_net_revenue
from amounts
inner join chart on amounts.line_key = chart.line_key;

-- fct_dre_projected: 2 months (2026-11, 2026-12) per scenario, three lines each. Sums over the horizon:
-- conservative receita líquida 8,000 + 8,100 = 16,100, lucro líquido 500 + 450 = 950;
-- base 9,000 + 9,500 = 18,500 and 1,000 + 1,100 = 2,100; optimistic 10,000 + 11,000 = 21,000 and
-- 1,500 + 1,800 = 3,300.
create table marts.fct_dre_projected as
with rows (scenario, scenario_order, month, months_ahead, forecast_brl, receita_bruta, receita_liquida, lucro_liquido) as (
    values
        ('conservative', 1, date '2026-11-01', 1, 9000, 8900, 8000, 500),
        ('conservative', 1, date '2026-12-01', 2, 9200, 9000, 8100, 450),
        ('base', 2, date '2026-11-01', 1, 10000, 10000, 9000, 1000),
        ('base', 2, date '2026-12-01', 2, 10500, 10500, 9500, 1100),
        ('optimistic', 3, date '2026-11-01', 1, 11000, 11100, 10000, 1500),
        ('optimistic', 3, date '2026-12-01', 2, 12000, 12200, 11000, 1800)
), lines (line_order, line_key, line_label, line_type) as (
    values
        (1, 'receita_bruta', 'Receita Bruta', 'line'),
        (3, 'receita_liquida', '= Receita Líquida', 'subtotal'),
        (15, 'lucro_liquido', '= Lucro Líquido', 'subtotal')
)
select
    rows.scenario,
    rows.scenario_order,
    rows.month,
    rows.months_ahead,
    'drift' as forecast_model,
    cast(rows.forecast_brl as double) as forecast_brl,
    lines.line_order,
    lines.line_key,
    lines.line_label,
    lines.line_type,
    cast(case lines.line_key
        when 'receita_bruta' then rows.receita_bruta
        when 'receita_liquida' then rows.receita_liquida
        else rows.lucro_liquido
    end as decimal(18, 2)) as amount_brl,
    case lines.line_key
        when 'receita_bruta' then rows.receita_bruta
        when 'receita_liquida' then rows.receita_liquida
        else rows.lucro_liquido
    end / rows.receita_liquida as pct_of_net_revenue
from rows cross join lines;
