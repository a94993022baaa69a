"""Suite-wide test settings.

Property tests (hypothesis) are derandomized so that every run of the suite,
CI's included, checks the same examples: a failure reproduces. Set
HYPOTHESIS_PROFILE=explore to draw fresh examples each run when hunting bugs.
"""
import os

from hypothesis import settings

settings.register_profile("repeatable", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))
