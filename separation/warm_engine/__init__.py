"""A warm separation engine: a background process that keeps a model loaded between commands.

A fresh ``stemline separate`` pays the Keras and backend imports, the model build and the first
call's compilation (15-20 s on a 2-core CPU) before its first segment. ``stemline engine
start`` pays them once, in a background process that serves jobs over a Unix domain socket;
a ``separate`` command with the same model options hands its job to it and starts separating
in well under a second, with the same checks, messages and stems bit for bit.

- :mod:`~separation.warm_engine.protocol`: messages, versions, the options that must match;
- :mod:`~separation.warm_engine.lifecycle`: paths, starting in the background, stale sockets;
- :mod:`~separation.warm_engine.serve`, :mod:`~separation.warm_engine.server` and
  :mod:`~separation.warm_engine.connection`: the engine;
- :mod:`~separation.warm_engine.client`: what ``separate`` uses, without numerical imports.

Importing this package imports none of them.
"""
