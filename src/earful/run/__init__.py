"""Running Earful: ``runner.run_once`` polls due sources once, ``loop.run_forever`` is the main
job (``earful run``), ``stream`` feeds Jetstream into the pipeline, ``distributed`` is what the
Celery tasks in ``workers/`` call, ``replay`` plays a scenario on a simulated clock."""
