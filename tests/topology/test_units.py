import pytest

from wotemu_runtime.topology import units


@pytest.mark.parametrize(
    ("value", "expected"),
    [("5ms", 5.0), ("1.5s", 1500.0), ("300us", 0.3), (40, 40.0), ("0", 0.0), (".5ms", 0.5)],
)
def test_duration_ms(value, expected):
    assert units.duration_ms(value) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("value", "expected"), [("90s", 90), ("2m", 120), ("1h", 3600), (30, 30), ("250ms", 0.25)]
)
def test_duration_s(value, expected):
    assert units.duration_s(value) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("50kbit", 50_000), ("1.5mbit", 1_500_000), ("1gbit", 10**9), ("1mbps", 8_000_000), (9600, 9600)],
)
def test_rate(value, expected):
    assert units.rate_bps(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"), [("150M", 150 * 2**20), ("1.5G", 1.5 * 2**30), ("512k", 2**19), (100, 100)]
)
def test_size(value, expected):
    assert units.size_bytes(value) == expected


def test_percent_bounds():
    assert units.percent("0.5%") == 0.5
    assert units.percent(100) == 100
    with pytest.raises(ValueError, match="between 0% and 100%"):
        units.percent("100.1%")


@pytest.mark.parametrize("value", ["5 parsecs", "ms", "", True, [1], "--5ms"])
def test_garbage_is_refused_with_an_example(value):
    with pytest.raises(ValueError, match="expected a duration such as '40ms'"):
        units.duration_ms(value)


def test_negative_is_refused():
    with pytest.raises(ValueError, match="at least 0, got '-3ms'"):
        units.duration_ms("-3ms")
