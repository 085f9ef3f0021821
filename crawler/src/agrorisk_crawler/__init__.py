"""Collects photos for every catalog risk with icrawler: validated, de-duplicated, with a manifest."""
