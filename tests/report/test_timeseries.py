"""Bucketing and counter differencing."""

import pandas as pd

from report.timeseries import bucket, bucket_width, counter_deltas


def test_bucket_width_is_nice_and_bounded():
    assert bucket_width(600, 200) == 5
    assert bucket_width(100, 200) == 1
    assert bucket_width(3 * 3600, 200) == 60
    assert bucket_width(10 * 86400 * 365, 200) == 86400


def test_buckets_align_on_the_start():
    t = pd.Series([100.0, 104.9, 105.0, 117.0])
    assert list(bucket(t, 100.0, 5.0)) == [100.0, 100.0, 105.0, 115.0]


def test_counter_deltas_handle_first_samples_and_resets():
    frame = pd.DataFrame({
        "task": ["a", "a", "a", "a", "b", "b"],
        "t": [1.0, 2.0, 3.0, 4.0, 1.0, 2.0],
        "bytes": [10, 25, 5, 8, 7, 7],  # a restarts between t=2 and t=3
    })  # fmt: skip
    deltas = counter_deltas(frame, ["task"], ["bytes"])
    assert list(deltas["bytes"]) == [10, 15, 5, 3, 7, 0]
    assert deltas["bytes"].sum() == 25 + 8 + 7
