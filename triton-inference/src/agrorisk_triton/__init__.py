"""Serves the production model with NVIDIA Triton (PyTriton locally), model repository generator, client."""
