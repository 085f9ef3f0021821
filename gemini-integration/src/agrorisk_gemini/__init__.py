"""Recognises crop risks with Google Gemini: structured output, cost accounting, evaluation."""
