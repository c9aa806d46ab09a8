"""Live updates: one feed of stored changes per process, fanned out to every subscriber
through the same read authorization as every query."""
