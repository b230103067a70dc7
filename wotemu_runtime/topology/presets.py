"""Network condition presets: the 2021 WoTemu figures (one-way delay, jitter, rate).

No loss figures: the upstream presets document none, and inventing some would make runs less
honest. Users add `loss` explicitly where they have a measured figure.
"""

PRESETS: dict[str, dict] = {
    "gprs": {"delay": "700ms", "jitter": "100ms", "rate": "50kbit"},
    "edge": {"delay": "700ms", "jitter": "100ms", "rate": "100kbit"},
    "regular_3g": {"delay": "300ms", "jitter": "150ms", "rate": "1500kbit"},
    "fast_3g": {"delay": "150ms", "jitter": "50ms", "rate": "4000kbit"},
    "lte": {"delay": "40ms", "jitter": "10ms", "rate": "15mbit"},
    "wifi": {"delay": "25ms", "jitter": "5ms", "rate": "50mbit"},
    "cable": {"delay": "5ms", "jitter": "5ms", "rate": "100mbit"},
}
