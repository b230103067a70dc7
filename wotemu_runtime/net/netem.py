"""The kernel backend: sch_netem on the gateway's egress, under TBF for the rate, via pyroute2.

pyroute2's own netem encoder has no delay distribution, Gilbert-Elliott loss, 64-bit times or seed,
so the qdisc message is built here from the kernel's layout (include/uapi/linux/pkt_sched.h).
"""

import errno
import logging
import struct

from pyroute2 import IPRoute
from pyroute2.netlink import NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST, nla
from pyroute2.netlink.exceptions import NetlinkError
from pyroute2.netlink.rtnl import RTM_NEWQDISC
from pyroute2.netlink.rtnl.tcmsg import tcmsg
from pyroute2.netlink.rtnl.tcmsg.common import time2tick

from wotemu_runtime.contract.conditions import DEFAULTS
from wotemu_runtime.net.distributions import load_table
from wotemu_runtime.net.links import Interface
from wotemu_runtime.net.packet_model import ETHERNET_HEADER, u32
from wotemu_runtime.net.shaping import Shaper, ShaperError

log = logging.getLogger(__name__)

ROOT = 0xFFFFFFFF  # TC_H_ROOT
TBF_ROOT, TBF_CLASS, NETEM_CHILD = 0x10000, 0x10001, 0x100000  # 1:, 1:1, 10:
MAX_FRAME = 1514  # what TBF must let through in one go: an Ethernet frame at MTU 1500
TCA_NETEM_PRNG_SEED = 14  # Linux >= 6.6; older kernels ignore attributes they do not know


class netem_options(nla):
    """struct tc_netem_qopt followed by the netem attributes."""

    nla_map = (
        ("TCA_NETEM_UNSPEC", "none"),
        ("TCA_NETEM_CORR", "netem_corr"),
        ("TCA_NETEM_DELAY_DIST", "cdata"),
        ("TCA_NETEM_REORDER", "netem_pair"),
        ("TCA_NETEM_CORRUPT", "netem_pair"),
        ("TCA_NETEM_LOSS", "netem_loss"),
        ("TCA_NETEM_RATE", "hex"),
        ("TCA_NETEM_ECN", "uint32"),
        ("TCA_NETEM_RATE64", "uint64"),
        ("TCA_NETEM_PAD", "hex"),
        ("TCA_NETEM_LATENCY64", "int64"),
        ("TCA_NETEM_JITTER64", "int64"),
        ("TCA_NETEM_SLOT", "hex"),
        ("TCA_NETEM_SLOT_DIST", "hex"),
        ("TCA_NETEM_PRNG_SEED", "uint64"),
    )
    fields = (
        ("delay", "I"),
        ("limit", "I"),
        ("loss", "I"),
        ("gap", "I"),
        ("duplicate", "I"),
        ("jitter", "I"),
    )

    class netem_corr(nla):
        fields = (("delay_corr", "I"), ("loss_corr", "I"), ("dup_corr", "I"))

    class netem_pair(nla):  # tc_netem_reorder and tc_netem_corrupt: probability, correlation
        fields = (("probability", "I"), ("correlation", "I"))

    class netem_loss(nla):
        nla_map = (("NETEM_LOSS_UNSPEC", "none"), ("NETEM_LOSS_GI", "hex"), ("NETEM_LOSS_GE", "gemodel"))

        class gemodel(nla):
            fields = (("p", "I"), ("r", "I"), ("h", "I"), ("k1", "I"))


class _netem_msg(tcmsg):
    @staticmethod
    def get_options(self, *argv, **kwarg):
        return netem_options


def netem_options_for(c: dict, seed: int | None) -> dict:
    """The TCA_OPTIONS of a netem qdisc for canonical conditions `c` (rate is left to TBF)."""
    loss = c["loss"]
    attrs = [
        # Nanosecond times; the 32-bit tick fields below are only what pre-4.15 kernels read.
        ["TCA_NETEM_LATENCY64", round(c["delay_ms"] * 1e6)],
        ["TCA_NETEM_JITTER64", round(c["jitter_ms"] * 1e6)],
        [
            "TCA_NETEM_CORR",
            {
                "delay_corr": u32(c["delay_correlation_pct"]),
                "loss_corr": u32(loss["correlation_pct"]) if loss and loss["model"] == "random" else 0,
                "dup_corr": 0,
            },
        ],
    ]
    if c["jitter_ms"] and c["distribution"] != "uniform":
        table = load_table(c["distribution"])
        attrs.append(["TCA_NETEM_DELAY_DIST", struct.pack(f"={len(table)}h", *table)])
    if c["reorder_pct"]:
        attrs.append(
            [
                "TCA_NETEM_REORDER",
                {"probability": u32(c["reorder_pct"]), "correlation": u32(c["reorder_correlation_pct"])},
            ]
        )
    if c["corrupt_pct"]:
        attrs.append(["TCA_NETEM_CORRUPT", {"probability": u32(c["corrupt_pct"]), "correlation": 0}])
    if loss and loss["model"] == "gemodel":
        # tc-netem's `loss gemodel p r 1-h 1-k`: the kernel loses in the bad state when rnd > h
        # and in the good state when rnd < k1, so k1 carries 1-k.
        gemodel = {
            "p": u32(loss["p_pct"]),
            "r": u32(loss["r_pct"]),
            "h": u32(loss["h_pct"]),
            "k1": u32(100 - loss["k_pct"]),
        }
        attrs.append(["TCA_NETEM_LOSS", {"attrs": [["NETEM_LOSS_GE", gemodel]]}])
    if seed is not None:
        attrs.append(["TCA_NETEM_PRNG_SEED", seed])
    return {
        "delay": time2tick(min(c["delay_ms"] * 1000, 2**31)),
        "limit": int(c["limit_packets"]),
        "loss": u32(loss["pct"]) if loss and loss["model"] == "random" else 0,
        # gap 1 with a reorder probability: that share of packets skips the delay (tc's default).
        "gap": 1 if c["reorder_pct"] else 0,
        "duplicate": u32(c["duplicate_pct"]),
        "jitter": time2tick(min(c["jitter_ms"] * 1000, 2**31)),
        "attrs": attrs,
    }


def _add_netem(
    ipr: IPRoute, index: int, handle: int, parent: int, options: dict, change: bool = False
) -> None:
    """Add a netem qdisc; `change`: give the one there new options (`tc qdisc change`), its queue kept."""
    msg = _netem_msg()
    msg["index"], msg["handle"], msg["parent"] = index, handle, parent
    msg["attrs"] = [["TCA_KIND", "netem"], ["TCA_OPTIONS", options]]
    msg["header"]["type"] = RTM_NEWQDISC
    msg["header"]["flags"] = NLM_F_REQUEST | NLM_F_ACK | (0 if change else NLM_F_CREATE | NLM_F_EXCL)
    # A batch of one: pyroute2 0.9.4's synchronous nlm_request() fails on a missing status key.
    ipr.nlm_request_batch([msg])


def _delete_root(ipr: IPRoute, index: int) -> None:
    try:
        ipr.tc("del", index=index, handle=0, parent=ROOT)
    except NetlinkError as ex:
        if ex.code not in (errno.ENOENT, errno.EINVAL):  # nothing of ours there: fine
            raise


_ZERO = {**DEFAULTS, "distribution": "uniform"}


def _tbf(rate_bps: int) -> dict:
    rate_bytes = rate_bps / 8
    burst = max(2 * MAX_FRAME, int(rate_bytes / 1000))  # two frames or 1 ms of traffic
    # TBF's limit sizes its default child queue, which netem replaces: any valid value.
    return {"rate": int(rate_bytes), "burst": burst, "limit": 10 * MAX_FRAME}


class NetemShaper(Shaper):
    """netem at the root of the interface, or TBF 1: (rate) -> netem 10: when there is a rate."""

    backend = "netem"
    per_replica = False  # one qdisc tree for the interface: access links need the userspace shaper

    @classmethod
    def refusal(cls, interface: Interface) -> str | None:
        with IPRoute() as ipr:
            try:
                _add_netem(ipr, interface.index, 0, ROOT, netem_options_for(_ZERO, None))
            except NetlinkError as ex:
                if ex.code == errno.ENOENT:  # "Specified qdisc kind is unknown"
                    return "this kernel has no sch_netem"
                return f"the kernel refused netem: {ex} (errno {ex.code})"
            _delete_root(ipr, interface.index)
        return None

    def __init__(self, interface: Interface, seed: int | None, links: list[dict] = ()):
        super().__init__(interface, seed, links)
        self._rated = False  # whether the qdiscs in place have the TBF

    def apply(self, conditions: dict) -> None:
        if self.links:
            raise ShaperError("access links need the userspace shaper in this version (`shaper: userspace`)")
        c, index = conditions, self.interface.index
        self.unhonoured = []
        with IPRoute() as ipr:
            _delete_root(ipr, index)
            parent, handle = ROOT, 0
            if c["rate_bps"]:
                # TBF at the root, netem as its only child (the netem manual's recipe): packets are
                # delayed by netem, then paced by TBF, and netem's limit stays the one queue limit.
                # Not HTB: TBF cuts GSO super-packets (up to 64 KB from a veth) into segments, where
                # HTB would let one go at once and pace the link in 64 KB steps.
                try:
                    ipr.tc("add", "tbf", index=index, handle=TBF_ROOT, **_tbf(c["rate_bps"]))
                except NetlinkError as ex:
                    raise ShaperError(f"cannot add the TBF that shapes the rate: {ex}") from ex
                parent, handle = TBF_CLASS, NETEM_CHILD
            _add_netem(ipr, index, handle, parent, netem_options_for(c, self.seed))
            if self.seed is not None and not self._seed_applied(ipr):
                self.unhonoured.append("seed")
        self._rated = bool(c["rate_bps"])
        if self.unhonoured:
            log.warning("netem on this kernel cannot honour: %s", ", ".join(self.unhonoured))

    def update(self, conditions: dict) -> None:
        """Change the qdiscs in place (`tc qdisc change`): the packets they hold stay, and no packet
        passes unshaped. Only a rate appearing or going away rebuilds them (a TBF added or removed)."""
        c, index = conditions, self.interface.index
        if bool(c["rate_bps"]) != self._rated:
            self.apply(conditions)
            return
        with IPRoute() as ipr:
            if c["rate_bps"]:
                ipr.tc("change", "tbf", index=index, handle=TBF_ROOT, **_tbf(c["rate_bps"]))
                _add_netem(ipr, index, NETEM_CHILD, TBF_CLASS, netem_options_for(c, self.seed), change=True)
            else:
                _add_netem(ipr, index, 0, ROOT, netem_options_for(c, self.seed), change=True)

    def counters(self) -> dict[str, int]:
        """What left is the root qdisc's count (TBF's, or netem's when there is no rate); what was
        dropped and queued are netem's (its loss and its queue's overflow: TBF has no queue of its own
        here, netem's limit is the one queue)."""
        left, held = {"packets": 0, "bytes": 0}, {"dropped": 0, "queued": 0}
        with IPRoute() as ipr:
            for qdisc in ipr.get_qdiscs(self.interface.index):
                stats = qdisc.get_attr("TCA_STATS")
                if qdisc["parent"] == ROOT:
                    # Qdiscs count the 14-byte Ethernet header; the firewall's counters do not.
                    left = {
                        "packets": stats["packets"],
                        "bytes": stats["bytes"] - ETHERNET_HEADER * stats["packets"],
                    }
                if qdisc.get_attr("TCA_KIND") == "netem":
                    held = {"dropped": stats["drop"], "queued": stats["qlen"]}
        return {**left, **held}

    def _seed_applied(self, ipr: IPRoute) -> bool:
        """Kernels that support TCA_NETEM_PRNG_SEED report it back; older ones drop it silently."""
        for qdisc in ipr.get_qdiscs(self.interface.index):
            if qdisc.get_attr("TCA_KIND") == "netem":
                options = qdisc.get_attr("TCA_OPTIONS")
                return any(_nla_type(attr) == TCA_NETEM_PRNG_SEED for attr in options.get("attrs", ()))
        return False

    def close(self) -> None:
        with IPRoute() as ipr:
            _delete_root(ipr, self.interface.index)


def _nla_type(slot) -> int:
    """The attribute type of a decoded NLA, read from its header (pyroute2 names unknown ones UNKNOWN)."""
    attr = slot.cell[1]
    return struct.unpack_from("=HH", attr.data, attr.offset)[1] & 0x3FFF  # without the NESTED/BYTEORDER flags
