"""Defaults of the demo set that light code (the ``stemline`` argument parser) needs.

Kept apart from :mod:`demodata.songs` so that building the command line does not import the
synthesis and annotation code.
"""

#: Songs in a demo set unless told otherwise.
DEFAULT_N_SONGS = 5
