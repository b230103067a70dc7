"""A gateway that was the bottleneck is named in the report's fidelity section, with the reason."""

from tests.report.test_set_aside import report_of, rewrite

WARNING = "Network {}: its gateway was saturated"


def test_an_unsaturated_run_has_no_gateway_warning(built):
    html = built[0].read_text()
    assert all(WARNING.format(network) not in html for network in ("cell", "lan", "wifi"))


def test_a_userspace_gateway_at_a_full_core_is_named(bundle):
    def busy(records):  # the cell gateway (userspace shaper) at 97 % of a core in every sample
        return [{**r, "cpu_pct": 97.0} if r["service"] == "gw_cell" else r for r in records]

    rewrite(bundle / "system.jsonl.gz", busy)
    html, _ = report_of(bundle)
    assert WARNING.format("cell") + ": its process used ≥ 90% of a core in" in html
    assert "the userspace shaper runs in one thread" in html
    assert WARNING.format("lan") not in html and WARNING.format("wifi") not in html


def test_a_netem_gateway_is_not_judged_by_its_process_cpu(bundle):
    rewrite(
        bundle / "system.jsonl.gz",
        lambda rs: [{**r, "cpu_pct": 97.0} if r["service"] == "gw_lan" else r for r in rs],
    )
    html, _ = report_of(bundle)
    assert WARNING.format("lan") not in html  # NetEm shapes in the kernel, not in the gateway's process


def test_a_queue_at_its_limit_is_named(bundle):
    def full(records):  # the wifi queue at 950 of its 1000 packets in two samples
        marked = 0
        for record in records:
            if record["network"] == "wifi" and marked < 2:
                record["queued"], marked = 950, marked + 1
        return records

    rewrite(bundle / "shaping.jsonl.gz", full)
    html, _ = report_of(bundle)
    assert WARNING.format("wifi") + ": its queue held ≥ 90% of its 1000-packet limit in 2 of" in html
