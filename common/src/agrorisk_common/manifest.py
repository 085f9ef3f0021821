"""The image pool manifest contract: one CSV row per image (the crawler writes it; dataset-labeling
reads it and appends imported and synthetic images). `dataset` and `license` name the public data set an
imported image came from and its licence (SPDX id); empty for crawled and generated images."""

MANIFEST_COLUMNS = (
    "risk_id",
    "file",
    "query",
    "engine",
    "source_url",
    "sha256",
    "phash",
    "width",
    "height",
    "bytes",
    "crawled_at",
    "synthetic",
    "near_duplicate_of",
    "cross_risk_duplicate_of",
    "dataset",
    "license",
)
