"""What the processes of KB Assist say about themselves: Prometheus metrics (``metrics``) and
the Celery worker's heartbeat (``heartbeat``). Needs only Django and prometheus_client, so
every layer may report through it."""
