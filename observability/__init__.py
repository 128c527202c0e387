"""Operations: Prometheus metrics (metrics.py) and structured logs with a request id (logs.py)."""
