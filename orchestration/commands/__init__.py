"""The sub-commands of ``stemline`` that drive the pipeline, one module per command.

``run`` (:mod:`.run`), ``ui`` (:mod:`.ui`), ``query`` (:mod:`.query`) and ``demo``
(:mod:`.demo`); :mod:`orchestration.cli` assembles them with the separation engine's and the
demo data's sub-commands into the ``stemline`` command. Each module's ``register`` adds its
sub-command to the parser; heavy libraries (Dagster, TensorFlow, essentia, DuckDB) are imported
only when a command runs, so ``stemline --help`` answers at once.
"""
