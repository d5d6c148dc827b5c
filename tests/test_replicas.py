"""Replicas, not chips (spec v3, section 4): optimal costs worked out by hand.

The base catalog of conftest, with models.csv added where a case needs memory fit: `llama`
is a 70 B model (bf16 weights 140 GB; x 1.2 headroom = 168 GB), its h100-sxm rows 1000
tok/s/chip at 500 / 50 ms and 2000 at 1950 / 150 ms. February 2027 has 672 hours.
"""

from __future__ import annotations

import pytest

import planner
from planner.model.serving import replica_size, workload_rows
from planner.scenario.read import load_scenario

from conftest import SRC, TABLES, cost, workload

FEB = "horizon: {start: 2027-02, months: 1}\n"
H = 672
TIGHT = "{ttft_ms: 1000, tpot_ms: 100}"  # only the 1000 tok/s row


def with_models(path, *rows: str):
    (path.parent / "cat" / "models.csv").write_text(
        "id,params_b,source,as_of\n" + "".join(f"{r},{SRC}\n" for r in rows))
    return path


def offerings(*rows: str) -> dict:
    return {"offerings": [TABLES["offerings"][0], *(f"{r},{SRC}" for r in rows)]}


SIZES = offerings("aws,us-east-1,p5-1,h100-sxm,1,9,",  # cheapest per chip, too small
                  "aws,us-east-1,p5-2,h100-sxm,2,18,",
                  "aws,us-east-1,p5-8,h100-sxm,8,80,")


def test_replica_sizes_by_memory():
    assert replica_size(70 * 2 * 1.2, 80) == 4  # 168 GB on 80 GB chips
    assert replica_size(70 * 2 * 1.2, 32) == 8  # 168 / 32 = 5.25 -> 8
    assert replica_size(8 * 2 * 1.2, 80) == 1


def test_a_70b_replica_needs_four_80gb_chips(make):
    body = FEB + workload("{us-east: 8000}", slo=TIGHT)
    # no models.csv: one-chip replicas (and a warning): 8 x p5-1 at 9 $/h
    plan = planner.solve(make(body, SIZES))
    assert plan.total_cost == pytest.approx(8 * 9 * H)
    assert any("llama is not in the catalog's models.csv" in w for w in plan.warnings)
    # 4-chip replicas: 1- and 2-chip instances cannot host one; two replicas on one p5-8
    plan = planner.solve(with_models(make(body, SIZES), "llama,70"))
    assert plan.total_cost == pytest.approx(80 * H)
    assert not plan.warnings
    assert set(plan.assignments["chips_per_replica"]) == {4}
    assert plan.assignments["replicas"].sum() == pytest.approx(2)
    deploy = plan.deployment
    assert deploy[["instance", "instances", "replicas"]].values.tolist() == [["p5-8", 1, 2]]
    assert deploy["layout"].iloc[0] == "2 replicas of chat (llama, 4 chips)"
    # fp8 halves the weights: 84 GB -> 2 chips, so p5-2 serves (4 of them)
    fp8 = ["accelerator,model,tokens_per_s_per_chip,ttft_ms,tpot_ms,source,as_of,precision",
           f"h100-sxm,llama,1000,500,50,{SRC},fp8"]
    plan = planner.solve(with_models(make(body, {**SIZES, "throughput": fp8}), "llama,70"))
    assert plan.total_cost == pytest.approx(4 * 18 * H)


def test_the_rows_own_replica_size_wins_and_must_divide_the_instance(make):
    trn = offerings("aws,us-east-1,trn-12,trn2,12,120,", "aws,us-east-1,trn-16,trn2,16,176,")
    rows = [("accelerator,model,tokens_per_s_per_chip,ttft_ms,tpot_ms,source,as_of,"
             "chips_per_replica"), f"trn2,llama,1000,500,50,{SRC},4"]
    body = FEB + workload("{us-east: 12000}")
    # memory alone (168 GB on 96 GB chips) would say 2 chips; the row says 4: a 12-chip
    # instance hosts three 4-chip replicas = 12000 tok/s at 120 $/h
    path = with_models(make(body, {**trn, "throughput": rows}), "llama,70")
    plan = planner.solve(path)
    assert plan.total_cost == pytest.approx(120 * H)
    assert plan.deployment["layout"].tolist() == ["3 replicas of chat (llama, 4 chips)"]
    # an 8-chip replica does not divide 12 chips: only the 16-chip instance (two replicas)
    rows[1] = rows[1][:-1] + "8"
    plan = planner.solve(with_models(make(body, {**trn, "throughput": rows}), "llama,70"))
    assert plan.total_cost == pytest.approx(176 * H)
    assert plan.deployment["instance"].tolist() == ["trn-16"]


def test_measured_on_serves_with_the_workloads_own_memory(make):
    # rows of `llama` (70 B) serve `big` (70.6 B) through measured_on; with 14 % headroom
    # 70 B needs 159.6 GB (2 x 80 GB) but 70.6 B needs 161.0 GB -> 4 chips
    two = offerings("aws,us-east-1,p5-2,h100-sxm,2,20,", "aws,us-east-1,p5-4,h100-sxm,4,44,")
    body = FEB + workload("{us-east: 4000}", slo=TIGHT, memory_headroom="0.14")
    plan = planner.solve(with_models(make(body, two), "llama,70", "big,70.6"))
    assert plan.total_cost == pytest.approx(2 * 20 * H)  # two 2-chip replicas
    big = body.replace("model: llama", "model: big\n    measured_on: [llama]")
    plan = planner.solve(with_models(make(big, two), "llama,70", "big,70.6"))
    assert plan.total_cost == pytest.approx(44 * H)  # one 4-chip replica
    assert plan.assignments["measured_model"].unique().tolist() == ["llama"]
    scn = load_scenario(with_models(make(big, two), "llama,70", "big,70.6"))
    assert workload_rows(scn)["size"].unique().tolist() == [4]


def test_a_limit_of_one_kind_leaves_the_others_alone(make):
    # 32000 tok/s = 16 chips at 2000 tok/s = two 8-chip instances, at most half on spot:
    # gcp spot (30 $/h) + aws us-east-1 on-demand (80)
    body = FEB + workload("{us-east: 32000}", spot="0.5")
    assert cost(make(body)) == pytest.approx((30 + 80) * H)
    limit = "limits:\n  - {provider: PROVIDER, KIND chips: 0}\n"

    def limited(provider: str, kind: str | None) -> float:
        rule = limit.replace("PROVIDER", provider).replace(
            "KIND", f"kind: {kind}," if kind else "")
        return cost(make(body + rule))
    # no on-demand at aws: gcp on-demand (88); spot is left alone
    assert limited("aws", "on-demand") == pytest.approx((30 + 88) * H)
    # no on-demand at gcp changes nothing: its spot still counts for nothing in the limit
    assert limited("gcp", "on-demand") == pytest.approx((30 + 80) * H)
    # no spot at gcp: aws spot (40); no gcp at all, likewise
    assert limited("gcp", "spot") == pytest.approx((40 + 80) * H)
    assert limited("gcp", None) == pytest.approx((40 + 80) * H)


def test_spot_is_not_capacity_that_survives_a_failure(make):
    # survive a provider, keep 50 % of 8000 tok/s: with spot counted, aws spot (40) and
    # gcp spot (30) protect each other; without, each side must hold non-spot capacity
    # that survives the other's loss: aws on-demand (80) + gcp on-demand (88)
    body = FEB + workload("{us-east: 8000}", spot="1.0") + \
        "resilience: {survive: provider, keep: 0.5}\n"
    counted = body.replace("keep: 0.5}", "keep: 0.5, count_spot: true}")
    assert cost(make(counted)) == pytest.approx((40 + 30) * H)
    plan = planner.solve(make(body))
    assert plan.total_cost == pytest.approx((80 + 88) * H)
    assert set(plan.assignments["kind"]) == {"on-demand"}


def test_two_workloads_never_share_a_chip(make):
    # two workloads of 1500 tok/s each at 2000 tok/s/chip: 0.75 chip each as fractions,
    # but one whole chip each as replicas (2 chips of one p5)
    body = FEB + workload("{us-east: 1500}") + \
        "  chat2:\n    model: llama\n    slo: {ttft_ms: 2000, tpot_ms: 200}\n" \
        "    demand: {us-east: 1500}\n"
    plan = planner.solve(make(body))
    assert plan.total_cost == pytest.approx(80 * H)
    chips = plan.assignments.groupby("workload")["chips"].sum()
    assert chips.to_dict() == pytest.approx({"chat": 1, "chat2": 1})
    assert plan.deployment["layout"].iloc[0] == \
        "1 replica of chat (llama, 1 chip) + 1 replica of chat2 (llama, 1 chip)"
