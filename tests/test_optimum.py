"""Exact optimal costs worked out by hand, one per constraint family (see conftest)."""

from __future__ import annotations

import pytest

import planner
from planner.model.build import build_model
from planner.scenario.read import load_scenario

from conftest import TABLES, cost, workload

FEB = "horizon: {start: 2027-02, months: 1}\n"
YEAR = "horizon: {start: 2027-01, months: 12}\n"
CONTINUOUS = "purchase: {integer: false}\n"


def test_cheapest_offering_whole_instance(make):
    # 8000 tok/s at 2000 tok/s/chip = 4 chips -> one whole p5 of aws us-east-1 (80 $/h)
    assert cost(make(FEB + workload("{us-east: 8000}"))) == pytest.approx(80 * 672)


def test_continuous_chips_and_latency_curve(make):
    # loose SLO: 2000 tok/s/chip -> 4 chips x 10 $/chip-h
    assert cost(make(FEB + CONTINUOUS + workload("{us-east: 8000}"))) == \
        pytest.approx(4 * 10 * 672)
    # tight SLO keeps only the 1000 tok/s row -> 8 chips
    tight = workload("{us-east: 8000}", slo="{ttft_ms: 1000, tpot_ms: 100}")
    assert cost(make(FEB + CONTINUOUS + tight)) == pytest.approx(8 * 10 * 672)


def test_fractional_plans_drop_options_no_least_cost_plan_uses(make):
    # us-east is served from aws us-east-1 (10/chip) and, at a measured 0 ms, eu-central-1
    # (12/chip), both 2000 tok/s; gcp left out. 8000 tok/s = 4 chips.
    offers = [TABLES["offerings"][0], "aws,us-east-1,p5,h100-sxm,8,80,,test,2025-01-01",
              "aws,eu-central-1,p5,h100-sxm,8,96,,test,2025-01-01"]
    body = FEB + CONTINUOUS + workload("{us-east: 8000}") + \
        "network:\n  rtt_ms: {us-east: {aws/eu-central-1: 0}}\n"
    free = make(body, replace={"offerings": offers})
    options = build_model(load_scenario(free)).options
    # the 1000 tok/s row and the dearer region (one month, no limit) serve no cheapest plan
    assert options[["region", "tp"]].values.tolist() == [["us-east-1", 2000]]
    assert cost(free) == pytest.approx(4 * 10 * 672)
    # capped at 2 chips, us-east-1 is no longer the cheapest per token/s for every plan
    capped = make(body + "limits:\n  - {region: us-east-1, chips: 2}\n",
                  replace={"offerings": offers})
    assert set(build_model(load_scenario(capped)).options["region"]) == \
        {"us-east-1", "eu-central-1"}
    assert cost(capped) == pytest.approx((2 * 10 + 2 * 12) * 672)


def test_rtt_prunes_far_regions_unless_overridden(make):
    # eu market: us regions are ~6,700 km = ~100 ms away; 1950 + 100 > 2000 keeps only the
    # 1000 tok/s row there (8 chips at 10 = 80/h) vs eu-central-1 at 2000 tok/s (4 x 12 = 48/h)
    body = FEB + CONTINUOUS + workload("{eu: 8000}")
    assert cost(make(body)) == pytest.approx(4 * 12 * 672)
    near = body + "network:\n  rtt_ms: {eu: {aws/us-east-1: 40}}\n"
    assert cost(make(near)) == pytest.approx(4 * 10 * 672)


def test_residency_keeps_demand_in_its_jurisdiction(make):
    body = FEB + CONTINUOUS + workload("{eu: 8000}", residency="{eu: [eu]}") + \
        "network:\n  rtt_ms: {eu: {aws/us-east-1: 0}}\n"
    assert cost(make(body)) == pytest.approx(4 * 12 * 672)


def test_provider_discount(make):
    body = FEB + CONTINUOUS + workload("{us-east: 8000}") + \
        "providers:\n  aws: {discount: 0.1}\n"
    assert cost(make(body)) == pytest.approx(4 * 9 * 672)


@pytest.mark.parametrize("months,expected", [
    (7, 80 * (744 + 672 + 744 + 720 + 744 + 720 + 744)),  # on-demand: 407,040 < 420,480
    (8, 48 * 8760),  # a 12-month commitment at 40 % off: 420,480 < 466,560 on-demand
])
def test_commitment_break_even(make, months, expected):
    demand = "[" + ", ".join(["8000"] * months + ["0"] * (12 - months)) + "]"
    body = YEAR + workload(f"{{us-east: {demand}}}") + "purchase: {terms: [12]}\n"
    assert cost(make(body)) == pytest.approx(expected)


def test_commitment_paid_after_the_horizon(make):
    # 10 months of demand: commit (48/h for all 8760 h of its year) beats 80/h on-demand
    body = "horizon: {start: 2027-01, months: 10}\n" + workload("{us-east: 8000}") + \
        "purchase: {terms: [12]}\n"
    plan = planner.solve(make(body))
    assert plan.total_cost == pytest.approx(48 * 8760)
    assert plan.cost_after_horizon == pytest.approx(48 * (720 + 744))
    assert plan.purchases[["kind", "start", "instances"]].values.tolist() == \
        [["commit-12", "2027-01", 1.0]]
    # 3 months: the commitment would still cost its whole year, so on-demand wins
    short = "horizon: {start: 2027-01, months: 3}\n" + workload("{us-east: 8000}") + \
        "purchase: {terms: [12]}\n"
    assert cost(make(short)) == pytest.approx(80 * (744 + 672 + 744))


def test_contract_is_paid_and_used_first(make):
    contract = ("contracts:\n  - {provider: aws, region: us-east-1, accelerator: h100-sxm, "
                "chips: 4, start: 2026-07, months: 8, price_per_chip_hour: 3.0}\n")
    signed = 4 * 3.0 * 672
    # 4 signed chips at 2000 tok/s carry all 8000 tok/s
    assert cost(make(FEB + workload("{us-east: 8000}") + contract)) == pytest.approx(signed)
    # paid even when nothing uses it
    assert cost(make(FEB + workload("{us-east: 0}") + contract)) == pytest.approx(signed)
    # 16000 tok/s: 4 signed chips + one p5; serving fills the contract first
    plan = planner.solve(make(FEB + workload("{us-east: 16000}") + contract))
    assert plan.total_cost == pytest.approx(signed + 80 * 672)
    used = plan.assignments.groupby("kind")["chips"].sum()
    assert used.to_dict() == pytest.approx({"contract": 4, "on-demand": 4})
    # the contracts table: 4000 tok/s use 2 of its 4 chips
    half = planner.solve(make(FEB + workload("{us-east: 4000}") + contract)).contracts()
    assert half.to_dict("records") == [pytest.approx(
        {"provider": "aws", "region": "us-east-1", "accelerator": "h100-sxm", "months": 1,
         "chips": 4, "cost": signed, "used_share": 0.5})]
    # ended before the horizon: nothing paid, nothing held
    old = contract.replace("months: 8", "months: 7")
    assert cost(make(FEB + workload("{us-east: 8000}") + old)) == pytest.approx(80 * 672)


def test_limit_moves_chips_to_the_next_cheapest(make):
    body = FEB + CONTINUOUS + workload("{us-east: 16000}") + \
        "limits:\n  - {provider: aws, accelerator: h100-sxm, chips: 5}\n"
    # 8 chips needed: 5 at aws (10) + 3 at gcp (11)
    assert cost(make(body)) == pytest.approx((5 * 10 + 3 * 11) * 672)
    outside = body.replace("chips: 5}", "chips: 5, from: 2027-03}")
    assert cost(make(outside)) == pytest.approx(8 * 10 * 672)


def test_max_share(make):
    body = FEB + CONTINUOUS + workload("{us-east: 8000}") + \
        "providers:\n  aws: {max_share: 0.25}\n"
    # aws at most a quarter of the throughput: 1 chip aws, 3 gcp
    assert cost(make(body)) == pytest.approx((1 * 10 + 3 * 11) * 672)


def test_spot_share(make):
    body = FEB + CONTINUOUS + workload("{us-east: 8000}", spot="0.25")
    # 4 chips, at most 1 on spot: gcp spot 3.75 + 3 aws on-demand at 10
    assert cost(make(body)) == pytest.approx((3.75 + 3 * 10) * 672)


@pytest.mark.parametrize("keep,util,expected", [
    (0.5, 1.0, (2 * 10 + 2 * 11) * 672),  # each provider alone carries 4000
    (0.75, 1.0, (3 * 10 + 3 * 11) * 672),  # each alone carries 6000: 12000 planned
    (0.5, 0.8, (3 * 10 + 2 * 11) * 672),  # 10000 planned, gcp >= 4000 (survivors at 100 %)
])
def test_resilience_provider(make, keep, util, expected):
    body = FEB + CONTINUOUS + workload("{us-east: 8000}", utilization=str(util)) + \
        f"resilience: {{survive: provider, keep: {keep}}}\n"
    assert cost(make(body)) == pytest.approx(expected)


def test_resilience_region(make):
    # survive a region: aws us-east-1 and gcp us-central1 are both regions; eu-central-1
    # is 100 ms away (1000 tok/s row only, 12 $/chip-h)
    body = FEB + CONTINUOUS + workload("{us-east: 8000}") + \
        "resilience: {survive: region, keep: 0.5}\n"
    assert cost(make(body)) == pytest.approx((2 * 10 + 2 * 11) * 672)


def test_budget_leaves_demand_unmet(make):
    body = FEB + CONTINUOUS + workload("{us-east: 8000}") + "budget: {monthly_max: 20000}\n"
    plan = planner.solve(make(body))
    assert plan.status == "unmet_demand"
    assert plan.total_cost == pytest.approx(20000)
    # 20000 $ buys 20000 / (10 x 672) chips at 2000 tok/s each
    assert plan.unmet["tokens_per_s"].sum() == pytest.approx(8000 - 2000 * 20000 / 6720)


def test_integer_instances(make):
    # 9 chips of 1000 tok/s: two whole p5 (80/h each) vs 9 chips continuous
    tight = workload("{us-east: 9000}", slo="{ttft_ms: 1000, tpot_ms: 100}")
    assert cost(make(FEB + tight)) == pytest.approx(2 * 80 * 672)
    assert cost(make(FEB + CONTINUOUS + tight)) == pytest.approx(9 * 10 * 672)
    # a trn2 with 16 chips of 800 tok/s at 64 $/h is the cheaper whole instance
    cheaper = make(FEB + tight, offerings=["aws,us-east-1,trn2,trn2,16,64,"],
                   throughput=["trn2,llama,800,500,50"])
    assert cost(cheaper) == pytest.approx(64 * 672)


def test_unserved_market_is_reported(make):
    # us regions are ~100 ms from eu: too far for a 550 ms TTFT; residency bars eu-central-1
    body = FEB + workload("{eu: 1000}", slo="{ttft_ms: 550, tpot_ms: 200}",
                          residency="{eu: [us]}")
    plan = planner.solve(make(body))
    assert plan.status == "unmet_demand"
    assert plan.total_cost == 0
    assert plan.unmet[["market", "month", "tokens_per_s"]].values.tolist() == \
        [["eu", "2027-02", 1000.0]]


def test_fast_path_matches_pulp(make):
    body = YEAR + workload("{us-east: {start: 8000, growth: 0.1}, eu: 3000}", spot="0.2") + \
        "purchase: {terms: [12]}\nresilience: {survive: provider, keep: 0.3}\n" + \
        "providers:\n  aws: {max_share: 0.7}\n"
    path = make(body)
    assert cost(path) == pytest.approx(cost(path, solver="pulp-highs"), rel=1e-6)



def test_plan_tables_rebuild_the_balances(make):
    """Residual check: assignments meet demand and stay within the chips held per kind."""
    body = YEAR + workload("{us-east: {start: 8000, growth: 0.1}, eu: 3000}", spot="0.2",
                           utilization="0.7") + \
        "purchase: {terms: [12]}\nresilience: {survive: provider, keep: 0.3}\n" + \
        "contracts:\n  - {provider: gcp, region: us-central1, accelerator: h100-sxm, " \
        "chips: 3, start: 2027-03, months: 4, price_per_chip_hour: 2.0}\n"
    plan = planner.solve(make(body))
    assert plan.status == "optimal"
    served = plan.assignments.groupby(["workload", "market", "month"])["tokens_per_s"].sum()
    demand = plan.served.set_index(["workload", "market", "month"])["demand"]
    assert (0.7 * served.reindex(demand.index) >= demand - 1e-6).all()
    keys = ["provider", "region", "instance", "kind", "month"]
    used = plan.assignments.groupby(keys)["chips"].sum()
    held = plan.spend.groupby(keys)["chips"].sum().reindex(used.index)
    assert (used <= held + 1e-6).all()
    spot = plan.assignments[plan.assignments["kind"] == "spot"].groupby("month")[
        "tokens_per_s"].sum()
    total = plan.assignments.groupby("month")["tokens_per_s"].sum()
    assert (spot <= 0.2 * total.reindex(spot.index) + 1e-6).all()
    assert plan.total_cost == pytest.approx(
        plan.purchases["total_cost"].sum() + plan.cost_by("kind")["contract"])


def test_unit_costs(make):
    # 8000 tok/s on 4 chips at 10 $/chip-h in February: 80 x 672 $ ... continuous: 4 chips
    body = FEB + CONTINUOUS + workload("{us-east: 8000}", utilization="0.5")
    plan = planner.solve(make(body))
    row = plan.unit_costs().iloc[0]
    tokens = 8000 * 672 * 3600 / 1e6
    assert row["tokens_millions"] == pytest.approx(tokens)
    # utilization 0.5 plans 16000 tok/s: 8 chips
    assert row["cost"] == pytest.approx(8 * 10 * 672)
    assert row["usd_per_1m_tokens"] == pytest.approx(8 * 10 * 672 / tokens)
    assert row["utilization"] == 0.5
