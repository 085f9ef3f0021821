"""The whole AgroRisk flow as Dagster assets: retraining, batch inference, drift detection with Evidently."""
