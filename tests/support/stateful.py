"""The checks that read the run's state, and the reference faults each must still fail alone."""

from __future__ import annotations

# The checks that read the run's state, each alone against every reference fault it serves: the smallest
# run that shows those faults (the token sample and the burst, a small sample) must still fail them.
STATEFUL_FAULTS = [
    ("token_unique", "token_repeated"),
    ("token_unique", "token_md5_of_small_random"),
    ("token_unique", "token_race"),
    ("token_unique", "qrcode_carries_previous_token"),
    ("token_strength", "token_sequential_counter"),
    ("token_strength", "token_hex_counter"),
    ("token_strength", "token_short"),
    ("token_entropy", "token_biased_characters"),
    ("token_entropy", "token_24_bit_repeated"),
    ("token_unpredictable", "token_python_random"),
    ("token_unpredictable", "token_lcg_per_user"),
    ("token_unpredictable", "token_hash_chain"),
    ("token_unpredictable", "token_time_seeded"),
    ("qrcode_distinct", "qrcode_same_for_every_grant"),
    ("qrcode_distinct", "qrcode_template_unfilled"),
]
