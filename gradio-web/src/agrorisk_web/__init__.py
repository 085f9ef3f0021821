"""Gradio web UI: upload a photo, compare Gemini with the local model, browse risks, models and services."""
