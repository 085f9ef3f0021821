"""FastAPI backend: predict with the local model, ask Gemini, compare both, jobs, feedback, links."""
