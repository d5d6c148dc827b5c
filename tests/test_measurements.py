"""Spec section 8: throughput rows serve only what they measured alike; request mixes.

Catalog of conftest plus a trn2 instance (aws us-east-1, 16 chips, 64 $/h = 4 $/chip-h).
February 2027 has 672 hours.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

import planner

from conftest import SRC, workload

FEB = "horizon: {start: 2027-02, months: 1}\npurchase: {integer: false}\n"
HEADER = ("accelerator,model,tokens_per_s_per_chip,ttft_ms,tpot_ms,source,as_of,latency_stat,"
          "precision,input_tokens,output_tokens,concurrency,stack")
TRN2 = ["aws,us-east-1,trn2.48xlarge,trn2,16,64,"]


def rows(*lines: str) -> dict:
    return {"throughput": [HEADER, *(f"{a},{SRC},{b}" for a, b in lines)]}


def test_a_p50_row_does_not_serve_a_p99_slo(make):
    # h100: 1000 tok/s measured at p99; trn2: 4000 tok/s per chip but only at p50
    table = rows(("h100-sxm,llama,1000,500,50", "p99,bf16,512,128,8,vLLM"),
                 ("trn2,llama,4000,500,50", "p50,bf16,512,128,1,NxDI"))
    p99 = planner.solve(make(FEB + workload("{us-east: 8000}"), replace=table,
                             offerings=TRN2))
    assert p99.total_cost == pytest.approx(8 * 10 * 672)  # 8 h100 chips, trn2 unusable
    p50 = planner.solve(make(FEB + workload(
        "{us-east: 8000}", slo="{ttft_ms: 2000, tpot_ms: 200, percentile: p50}"),
        replace=table, offerings=TRN2))
    assert p50.total_cost == pytest.approx(2 * 4 * 672)  # 2 trn2 chips at 4 $/chip-h


def test_mean_serves_only_a_mean_slo_and_precision_is_an_allow_list(make):
    table = rows(("h100-sxm,llama,1000,500,50", "mean,fp8,512,128,8,vLLM"),
                 ("h100-sxm,llama,500,500,50", "p99,bf16,512,128,8,vLLM"))
    plain = planner.solve(make(FEB + workload("{us-east: 8000}"), replace=table))
    assert plain.total_cost == pytest.approx(16 * 10 * 672)  # the p99 row: 500 tok/s
    mean = planner.solve(make(FEB + workload(
        "{us-east: 8000}", slo="{ttft_ms: 2000, tpot_ms: 200, percentile: mean}"),
        replace=table))
    assert mean.total_cost == pytest.approx(8 * 10 * 672)
    bf16 = planner.solve(make(FEB + workload(
        "{us-east: 8000}", slo="{ttft_ms: 2000, tpot_ms: 200, percentile: mean}",
        precision="[bf16]"), replace=table))
    assert bf16.status == "unmet_demand"  # the only mean row is fp8


def test_a_request_mix_lands_on_two_chips_and_beats_either(make):
    # short requests (512 in, 128 out): h100 2000 tok/s (10 $/chip-h: 0.005 $ per tok/s-h);
    # long ones (4096 in, 512 out): h100 500, trn2 600 (4 $/chip-h: 0.00667). A long row
    # also serves the short bucket (conservatively longer): trn2 600 there too.
    # 10,000 tok/s, 70 % short, 30 % long:
    #   all h100: 7000 / 2000 x 10 + 3000 / 500 x 10 = 95 $/h
    #   all trn2: 10000 / 600 x 4                    = 66.67 $/h
    #   the mix:  7000 / 2000 x 10 + 3000 / 600 x 4  = 55 $/h
    table = rows(("h100-sxm,llama,2000,500,50", "p99,fp8,512,128,,TRT-LLM"),
                 ("h100-sxm,llama,500,500,50", "p99,fp8,4096,512,,TRT-LLM"),
                 ("trn2,llama,600,500,50", "p99,bf16,4096,512,,NxDI"))
    mix = ("[{input_tokens: 512, output_tokens: 128, share: 0.7}, "
           "{input_tokens: 4096, output_tokens: 512, share: 0.3}]")
    plan = planner.solve(make(FEB + workload("{us-east: 10000}", requests=mix),
                              replace=table, offerings=TRN2))
    assert plan.total_cost == pytest.approx(55 * 672)
    by_bucket = plan.assignments.groupby("workload")["accelerator"].agg(set).to_dict()
    assert by_bucket == {"chat 512>128": {"h100-sxm"}, "chat 4096>512": {"trn2"}}
    assert set(plan.cost_per_workload()["workload"]) == {"chat 512>128", "chat 4096>512"}
    # a bucket longer than any measured shape cannot be served
    longer = mix.replace("4096, output_tokens: 512", "8192, output_tokens: 512")
    plan = planner.solve(make(FEB + workload("{us-east: 10000}", requests=longer),
                              replace=table, offerings=TRN2))
    assert plan.unmet["workload"].unique().tolist() == ["chat 8192>512"]


def test_bundled_trn2_single_request_rows_no_longer_serve_p99():
    from pathlib import Path

    from planner.model.serving import measured_alike

    cat = planner.load_catalog(Path(__file__).parent.parent / "catalogs" / "default")
    trn2 = cat.throughput[(cat.throughput["accelerator"] == "trn2")
                          & (cat.throughput["concurrency"] == 1)].assign(workload="chat")
    assert len(trn2) and set(trn2["latency_stat"]) == {"p50"}
    for percentile, served in (("p99", False), ("p50", True)):
        chat = SimpleNamespace(name="chat", percentile=percentile, precision=None, shape=None)
        assert measured_alike(SimpleNamespace(workloads={"chat": chat}), trn2).all() == served
