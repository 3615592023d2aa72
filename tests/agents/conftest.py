"""A small hand-made warehouse: the few mart tables the agents read, with rows whose answers are known.

Expected numbers (the tests compute them again by hand):

* ``fct_churn_monthly``: complete months 2026-07..2026-10, 2026-11 in progress. Last 3 complete months
  (2026-08..10): churn 5 %, 10 %, 5 %; average 22 ÷ 330 = 6.667 %.
* ``fct_mrr_movements``: cohort 2026-01 churns 2 of 11 customer-months at risk in the window (18.18 %);
  cohort 2026-08 churns 1 of 4 (25 %); cohort 2026-10 has nobody at risk yet (left out). A churn in
  2026-07 and one in 2026-11 (in progress) fall outside the window.
* ``fct_cac`` (2026-08..10): google_ads 3,000 ÷ 30 = R$ 100; meta_ads 1,500 ÷ 25 = R$ 60; organic has no
  spend; blended 4,800 ÷ 70 = R$ 68.5714. 2026-07 and 2026-11 hold decoys.
* ``fct_ltv`` formula LTV: google_ads 700 (LTV:CAC 7), meta_ads 300 (5), organic 900.
* ``dim_segments`` / ``dim_customers``: inactive_60d 5 customers (3 WhatsApp-contactable, 4 with an e-mail),
  loyal 2 (1), vip 1 (0); São Paulo state holds c1, c2, c3, c6, c8.
* ``fct_unit_economics``: 2026-10 complete (gross margin 60 %), 2026-11 in progress.
* ``forecasts.revenue``: receita_bruta for 3 months, 1000/1100/1200 ± 100 (total 3300).
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

DDL = """
create schema marts;
create schema forecasts;
create schema raw_hubspot;

create table raw_hubspot.contacts (email varchar, phone varchar);
insert into raw_hubspot.contacts values ('ana@example.com', '+5511999990000');
create table main.secrets (token varchar);
insert into main.secrets values ('do-not-read');

create table marts.fct_churn_monthly (
    month date, is_complete boolean, active_customers_start bigint, churned_customers bigint, logo_churn_rate double
);
insert into marts.fct_churn_monthly values
    ('2026-07-01', true, 90, 9, 0.1),
    ('2026-08-01', true, 100, 5, 0.05),
    ('2026-09-01', true, 110, 11, 0.1),
    ('2026-10-01', true, 120, 6, 0.05),
    ('2026-11-01', false, 130, 13, 0.1);

create table marts.fct_mrr_movements (
    customer_id varchar, month date, movement varchar, previous_mrr_brl double, mrr_brl double, cohort_month date
);
insert into marts.fct_mrr_movements values
    ('g', '2026-07-01', 'churn', 100, 0, '2026-01-01'),
    ('a', '2026-08-01', 'retained', 100, 100, '2026-01-01'),
    ('b', '2026-08-01', 'retained', 100, 100, '2026-01-01'),
    ('c', '2026-08-01', 'retained', 100, 100, '2026-01-01'),
    ('d', '2026-08-01', 'retained', 100, 100, '2026-01-01'),
    ('a', '2026-09-01', 'churn', 100, 0, '2026-01-01'),
    ('b', '2026-09-01', 'retained', 100, 100, '2026-01-01'),
    ('c', '2026-09-01', 'retained', 100, 100, '2026-01-01'),
    ('d', '2026-09-01', 'expansion', 100, 150, '2026-01-01'),
    ('a', '2026-10-01', 'reactivation', 0, 100, '2026-01-01'),
    ('b', '2026-10-01', 'churn', 100, 0, '2026-01-01'),
    ('c', '2026-10-01', 'retained', 100, 100, '2026-01-01'),
    ('d', '2026-10-01', 'contraction', 150, 100, '2026-01-01'),
    ('c', '2026-11-01', 'churn', 100, 0, '2026-01-01'),
    ('e', '2026-08-01', 'new', 0, 100, '2026-08-01'),
    ('f', '2026-08-01', 'new', 0, 100, '2026-08-01'),
    ('e', '2026-09-01', 'retained', 100, 100, '2026-08-01'),
    ('f', '2026-09-01', 'retained', 100, 100, '2026-08-01'),
    ('e', '2026-10-01', 'churn', 100, 0, '2026-08-01'),
    ('f', '2026-10-01', 'retained', 100, 100, '2026-08-01'),
    ('h', '2026-10-01', 'new', 0, 100, '2026-10-01');

create table marts.fct_cac (
    month date, is_complete boolean, channel varchar, is_paid_channel boolean, spend_brl decimal(18, 2),
    new_customers bigint, sales_marketing_spend_brl decimal(18, 2), total_new_customers bigint
);
insert into marts.fct_cac values
    ('2026-07-01', true, 'google_ads', true, 9999, 1, 10199, 7),
    ('2026-07-01', true, 'meta_ads', true, 100, 1, 10199, 7),
    ('2026-07-01', true, 'organic', false, 0, 5, 10199, 7),
    ('2026-08-01', true, 'google_ads', true, 1000, 10, 1600, 25),
    ('2026-08-01', true, 'meta_ads', true, 500, 10, 1600, 25),
    ('2026-08-01', true, 'organic', false, 0, 5, 1600, 25),
    ('2026-09-01', true, 'google_ads', true, 1200, 12, 1800, 22),
    ('2026-09-01', true, 'meta_ads', true, 500, 5, 1800, 22),
    ('2026-09-01', true, 'organic', false, 0, 5, 1800, 22),
    ('2026-10-01', true, 'google_ads', true, 800, 8, 1400, 23),
    ('2026-10-01', true, 'meta_ads', true, 500, 10, 1400, 23),
    ('2026-10-01', true, 'organic', false, 0, 5, 1400, 23),
    ('2026-11-01', false, 'google_ads', true, 5000, 1, 5200, 7),
    ('2026-11-01', false, 'meta_ads', true, 100, 1, 5200, 7),
    ('2026-11-01', false, 'organic', false, 0, 5, 5200, 7);

create table marts.fct_ltv (
    method varchar, dimension varchar, dimension_value varchar, horizon_months integer, is_mature boolean,
    customers bigint, ltv_brl double
);
insert into marts.fct_ltv values
    ('formula', 'channel', 'google_ads', null, true, null, 700),
    ('formula', 'channel', 'meta_ads', null, true, null, 300),
    ('formula', 'channel', 'organic', null, true, null, 900),
    ('historical', 'channel', 'google_ads', 3, true, 30, 150),
    ('formula', 'all', 'all', null, true, null, 650);

create table marts.fct_unit_economics (
    month date, is_complete boolean, mrr_brl double, active_customers bigint, arpa_brl double,
    gross_margin_pct double, logo_churn_rate double, trailing_6m_logo_churn_rate double, new_customers bigint,
    blended_cac_brl double, paid_cac_brl double, ltv_formula_brl double, ltv_to_cac_ratio double,
    cac_payback_months double, ltv_to_paid_cac_ratio double, paid_cac_payback_months double
);
insert into marts.fct_unit_economics values
    ('2026-10-01', true, 12000, 120, 100, 0.6, 0.05, 0.06, 23, 68.5714, 80, 650, 9.5, 1.1428, 8.125, 1.3333),
    ('2026-11-01', false, 13000, 130, 100, 0.6, 0.1, 0.07, 7, 70, 90, 650, 9, 1.1667, 7.2222, 1.5);

create table marts.dim_segments (
    customer_id varchar, segment varchar, is_whatsapp_contactable boolean, acquisition_channel varchar,
    mrr_brl double, recency_days integer, monetary_brl double
);
insert into marts.dim_segments values
    ('c1', 'inactive_60d', true, 'google_ads', 0, 75, 300), ('c2', 'inactive_60d', true, 'meta_ads', 0, 90, 200),
    ('c3', 'inactive_60d', true, 'organic', 0, 120, 100), ('c4', 'inactive_60d', false, 'google_ads', 0, 65, 400),
    ('c5', 'inactive_60d', false, 'organic', 0, 200, 50),
    ('c6', 'loyal', true, 'organic', 100, 10, 1200), ('c7', 'loyal', false, 'meta_ads', 100, 20, 900),
    ('c8', 'vip', false, 'google_ads', 250, 5, 5000);

create table marts.dim_customers (
    customer_id varchar, email varchar, city varchar, state varchar, acquisition_channel varchar,
    cohort_month date, segment varchar, whatsapp_opt_in boolean
);
insert into marts.dim_customers values
    ('c1', 'c1@example.com', 'São Paulo', 'SP', 'google_ads', '2026-01-01', 'inactive_60d', true),
    ('c2', 'c2@example.com', 'São Paulo', 'SP', 'meta_ads', '2026-01-01', 'inactive_60d', true),
    ('c3', null, 'Campinas', 'SP', 'organic', '2026-02-01', 'inactive_60d', true),
    ('c4', 'c4@example.com', 'Rio de Janeiro', 'RJ', 'google_ads', '2026-02-01', 'inactive_60d', false),
    ('c5', 'c5@example.com', 'Belo Horizonte', 'MG', 'organic', '2026-03-01', 'inactive_60d', false),
    ('c6', 'c6@example.com', 'São Paulo', 'SP', 'organic', '2026-03-01', 'loyal', true),
    ('c7', 'c7@example.com', 'Curitiba', 'PR', 'meta_ads', '2026-08-01', 'loyal', false),
    ('c8', 'c8@example.com', 'São Paulo', 'SP', 'google_ads', '2026-08-01', 'vip', false);

create table marts.big as select i as x from range(3000) as r(i);

create table forecasts.revenue (
    series varchar, ds date, yhat double, yhat_lower double, yhat_upper double, model varchar
);
insert into forecasts.revenue values
    ('receita_bruta', '2026-11-01', 1000, 900, 1100, 'drift'),
    ('receita_bruta', '2026-12-01', 1100, 1000, 1200, 'drift'),
    ('receita_bruta', '2027-01-01', 1200, 1100, 1300, 'drift'),
    ('mrr', '2026-11-01', 50, 40, 60, 'drift');
create table forecasts.revenue_backtest (series varchar, model varchar, chosen boolean, mase double);
insert into forecasts.revenue_backtest values
    ('receita_bruta', 'drift', true, 0.5), ('receita_bruta', 'seasonal_naive', false, 0.8);
"""


#: More tables, one file per agent (``tests/agents/ddl/<agent>.sql``), run after DDL in name order.
EXTRA_DDL_DIR = Path(__file__).parent / "ddl"


def build_marts(path: Path) -> str:
    con = duckdb.connect(str(path))
    try:
        con.execute(DDL)
        for extra in sorted(EXTRA_DDL_DIR.glob("*.sql")):
            con.execute(extra.read_text(encoding="utf-8"))
    finally:
        con.close()
    return f"duckdb:///{path}"


@pytest.fixture(scope="session")
def marts_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The hand-made warehouse (read-only for every test)."""
    return build_marts(tmp_path_factory.mktemp("agents") / "warehouse.duckdb")


@pytest.fixture
def sql_tool(marts_url: str):
    from agents.sql_tool import SqlTool

    return SqlTool(marts_url, duckdb_threads=1)
