"""Is this process alive and ready to take traffic, and what are its figures: ``/healthz``,
``/readyz``, ``/metrics`` (``views``) over plain functions (``checks``, ``collectors``), and
the web process's warm-up (``warmup``)."""
