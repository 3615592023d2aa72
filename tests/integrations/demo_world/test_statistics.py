"""The simulation behaves like its parameters say, within stated statistical tolerances."""

from __future__ import annotations

import math
from collections import Counter

from tests.integrations.demo_world.conftest import World
from tests.integrations.demo_world.test_ground_truth import _campaign_counts


def test_observed_churn_per_channel_recovers_the_true_hazard(clean_world: World) -> None:
    """Tolerance: 4 standard errors of a binomial rate, sqrt(h / exposure).

    Every observed paid month is one Bernoulli trial of the customer's hazard, so churned /
    exposure estimates the exposure-weighted true hazard with variance ~ h / exposure. With 20,000
    customers each channel has thousands of exposure months (SE ~ 3-6% of h); four SEs make a
    false failure a ~1-in-15,000 event per channel, yet a hazard off by 20% would still fail.
    """
    rows = clean_world.truth["churn_by_channel"]
    assert len(rows) == 6
    for row in rows:
        hazard, exposure = row["true_hazard"], row["exposure_months"]
        assert exposure > 2000, row
        tolerance = 4 * math.sqrt(hazard / exposure)
        assert abs(row["observed_hazard"] - hazard) < tolerance, (row, tolerance)
        assert abs(row["observed_hazard"] - hazard) < 0.2 * hazard, row
        assert 0.03 < row["base_hazard"] <= 0.12
    by_channel = {row["channel"]: row["observed_hazard"] for row in rows}
    assert by_channel["referral"] < by_channel["instagram"]  # the channel ranking survives the noise


def test_variant_b_converts_better_than_a_in_the_data(clean_world: World) -> None:
    counts = _campaign_counts(clean_world)
    sent, converted = Counter(), Counter()
    for (_, variant), funnel in counts.items():
        sent[variant] += funnel["sent"]
        converted[variant] += funnel["converted"]
    rate_a, rate_b = converted["A"] / sent["A"], converted["B"] / sent["B"]
    assert rate_b > rate_a
    # two-proportion z-test: the designed uplift (8% -> 12% of readers) is clearly visible at this size
    pooled = (converted["A"] + converted["B"]) / (sent["A"] + sent["B"])
    z = (rate_b - rate_a) / math.sqrt(pooled * (1 - pooled) * (1 / sent["A"] + 1 / sent["B"]))
    assert z > 3, z
    params = clean_world.truth["params"]["whatsapp"]
    assert params["conversion_given_read"]["B"] > params["conversion_given_read"]["A"]


def test_message_funnel_rates_are_plausible(clean_world: World) -> None:
    totals: Counter[str] = Counter()
    for row in clean_world.truth["campaigns"]:
        totals.update({k: v for k, v in row.items() if isinstance(v, int)})
    assert 0.93 < (totals["delivered"] + totals["failed"]) / totals["sent"] <= 1.0
    assert 0.02 < totals["failed"] / totals["sent"] < 0.07
    assert 0.6 < totals["read"] / totals["delivered"] < 0.8
    assert 0 < totals["opted_out"] < totals["replied"] < totals["read"]


def test_seasonality_shows_in_acquisition(clean_world: World) -> None:
    by_month = Counter()
    for row in clean_world.truth["acquisition"]:
        by_month[row["month"]] += row["new_customers"]
    november, october = by_month["2025-11"], by_month["2025-10"]
    january = by_month["2026-01"]
    assert november > 1.15 * october  # Black Friday week
    assert january < by_month["2025-12"]  # the January dip after Christmas
    months = sorted(by_month)
    assert sum(by_month[m] for m in months[-6:]) > 1.5 * sum(by_month[m] for m in months[:6])  # growth
