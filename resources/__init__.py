"""stemline's Dagster resources, one per module.

- :mod:`resources.settings`: :class:`~resources.settings.StemlineSettings`, where inputs and
  outputs live and which model, codec and executor to use;
- :mod:`resources.separation_engine`: :class:`~resources.separation_engine.SeparationEngine`,
  the Spleeter model loaded once per process, its options and the stems code version;
- :mod:`resources.feature_pool`: :class:`~resources.feature_pool.FeaturePool`, the feature
  worker processes, started once and shut down after execution.

Nothing here is imported by the libraries; assets, checks, sensors and ``orchestration`` use it.
"""
