"""`var('as_of_date')` set to a past date: the build passes and customers are described as of that date.

Before, customers who first paid after the date had no segment (dim_customers' not_null test failed the build),
and plan, billing cycle, orders and revenue to date came from the whole history.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb

from assets.dbt.project import DBT_BUILD_ARGS
from tests.assets.dbt.conftest import BuiltWarehouse

CRO = str(Path(sys.executable).parent / "cro")

AS_OF = "2026-06-30"

# What each customer had bought by the date, straight from the orders: the greatest order id wins a tie on the
# day of the latest subscription order.
EXPECTED = f"""
with paid as (
    select * from marts.fct_orders where list_amount_brl > 0 and order_date <= date '{AS_OF}'
), totals as (
    select customer_id, count(*) as orders, max(order_date) as last_order_date,
           sum(net_revenue_brl) as revenue_to_date_brl,
           max(case when order_kind = 'subscription' then order_date end) as last_subscription_date
    from paid group by customer_id
), latest as (
    select customer_id, arg_max(plan, order_id) as plan, arg_max(billing_cycle, order_id) as billing_cycle
    from paid join totals using (customer_id)
    where order_kind = 'subscription' and order_date = last_subscription_date
    group by customer_id
)
select customer_id, plan, billing_cycle, orders, last_order_date, revenue_to_date_brl
from totals left join latest using (customer_id)
"""
ACTUAL = (
    "select customer_id, plan, billing_cycle, orders, last_order_date, revenue_to_date_brl from marts.dim_customers"
)


def test_a_past_as_of_date_builds_and_describes_customers_as_of_it(
    duckdb_built: BuiltWarehouse, tmp_path: Path
) -> None:
    warehouse = tmp_path / "as_of.duckdb"
    shutil.copyfile(duckdb_built.url.removeprefix("duckdb:///"), warehouse)
    con = duckdb.connect(str(warehouse))
    newest = con.execute("select max(order_date) from marts.fct_orders").fetchall()[0][0]
    everyone = con.execute("select count(*) from marts.dim_customers").fetchall()[0][0]
    con.close()
    assert str(newest) > AS_OF

    # the command the README gives, every data test included
    target = tmp_path / "target"
    done = subprocess.run(
        [CRO, "dbt", "--", *DBT_BUILD_ARGS, "--vars", f"{{as_of_date: '{AS_OF}'}}", "--target-path", str(target)],
        env=os.environ | {"CRO_WAREHOUSE_URL": f"duckdb:///{warehouse}", "DBT_LOG_PATH": str(target)},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]

    con = duckdb.connect(str(warehouse))
    try:
        con.execute(f"create temp view expected as {EXPECTED}")
        assert con.execute(f"select count(*) from (select * from expected except {ACTUAL})").fetchall()[0][0] == 0
        assert con.execute(f"select count(*) from ({ACTUAL} except select * from expected)").fetchall()[0][0] == 0
        customers, latest_order, as_of = con.execute(
            "select count(*), max(c.last_order_date), max(s.as_of_date) from marts.dim_customers as c "
            "join marts.dim_segments as s using (customer_id)"
        ).fetchall()[0]
        # customers who first paid after the date are not customers yet
        assert 0 < customers < everyone
        assert str(latest_order) <= AS_OF and str(as_of) == AS_OF
        # the date changes what some customers had: otherwise this test would prove nothing
        changed = con.execute(
            "select count(*) from marts.dim_customers d join intermediate.int_customers c using (customer_id) "
            "where d.plan is distinct from c.plan or d.orders <> c.orders"
        ).fetchall()[0][0]
        assert changed > 0
    finally:
        con.close()
