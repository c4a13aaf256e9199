"""What the processes tell operators: Prometheus metrics, JSON logs with a request id, readiness."""
