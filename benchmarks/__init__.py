"""Performance measurements of the gateway: `python -m benchmarks` (see README.md here)."""
