"""Serves the production model with Ray Serve: dynamic batching, hot reload, metrics; the three-way benchmark."""
