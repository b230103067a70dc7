"""The canonical network conditions (design §8.2): units resolved, what every gateway is given.

The topology normaliser builds them from the user's units (`topology.schema.Netem`); the
gateway's config carries them; both shaping backends and the report read them.
"""

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

DISTRIBUTIONS = ("normal", "pareto", "paretonormal", "uniform")

Pct = Annotated[float, Field(ge=0, le=100)]


class _Strict(BaseModel):
    # Strict: a JSON config must already hold numbers (no "5" for 5, no true for 1); unknown keys are errors.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class RandomLoss(_Strict):
    model: Literal["random"] = "random"
    pct: Pct
    correlation_pct: Pct


class GilbertElliottLoss(_Strict):
    """tc-netem's `loss gemodel`: p = good→bad, r = bad→good, 1-h = loss in bad, 1-k = loss in good."""

    model: Literal["gemodel"] = "gemodel"
    p_pct: Pct
    r_pct: Pct
    h_pct: Pct
    k_pct: Pct


class Conditions(_Strict):
    """What a network does to each packet crossing it; the defaults are no conditions at all."""

    delay_ms: Annotated[float, Field(ge=0)] = 0.0
    jitter_ms: Annotated[float, Field(ge=0)] = 0.0
    distribution: Literal[DISTRIBUTIONS] = "normal"
    delay_correlation_pct: Pct = 0.0
    loss: Annotated[RandomLoss | GilbertElliottLoss, Field(discriminator="model")] | None = None
    duplicate_pct: Pct = 0.0
    corrupt_pct: Pct = 0.0
    reorder_pct: Pct = 0.0
    reorder_correlation_pct: Pct = 0.0
    rate_bps: Annotated[int, Field(ge=1)] | None = None  # None: no rate limit
    limit_packets: Annotated[int, Field(ge=1)] = 1000
    seed: int | None = None  # None: the experiment's


DEFAULTS = Conditions().model_dump()


def one_way_loss(conditions: dict) -> float:
    """The long-run share of packets one crossing loses (0..1)."""
    loss = conditions.get("loss")
    if not loss:
        return 0.0
    if loss["model"] == "random":
        return loss["pct"] / 100
    p, r = loss["p_pct"] / 100, loss["r_pct"] / 100
    bad = p / (p + r) if p + r else 0.0
    return (1 - bad) * (1 - loss["k_pct"] / 100) + bad * (1 - loss["h_pct"] / 100)


def nullable(field):
    """The type of a pydantic field, with its checks, or None (a key a change may leave out)."""
    typed = Annotated[field.annotation, *field.metadata] if field.metadata else field.annotation
    return typed | None


# What a scenario action changes (design §8.2): the keys it sets, the others null. A change cannot
# take a key back to null (no loss, no rate limit): it sets `loss` 0 % or a rate instead.
ConditionsChange = create_model(
    "ConditionsChange",
    __base__=_Strict,
    __doc__="Keys of Conditions that a scenario action sets; null: unchanged.",
    **{name: (nullable(field), None) for name, field in Conditions.model_fields.items() if name != "seed"},
)


def changed(conditions: dict, change: dict) -> dict:
    """`conditions` with the keys that `change` sets (its nulls change nothing)."""
    return {**conditions, **{key: value for key, value in change.items() if value is not None}}
