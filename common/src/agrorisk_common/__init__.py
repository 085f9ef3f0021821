"""Shared contracts of AgroRisk: risk catalog, detection schema, settings base, safe image decoding, logging, evaluation reports."""
