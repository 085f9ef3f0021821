"""The starter model: the registry's first production version while it has none."""

import dagster as dg

from agrorisk_pipeline.defs.resources import FlowResource, RegistryResource

GROUP = "model"


@dg.asset(group_name=GROUP, kinds={"s3"})
def starter_model(
    context: dg.AssetExecutionContext, flow: FlowResource, registry: RegistryResource
) -> dg.MaterializeResult:
    """The committed starter model (models/starter/best.pt) registered and promoted to production when
    the registry has no production model, with lineage `start: starter vN`; later candidates fine-tune
    from production and must beat it at the gate. Nothing changes once a production model exists."""
    from agrorisk_train.starter import register_starter

    models = registry.models()
    production = models.aliases().get("production")
    starter = flow.settings().starter_model
    if production is None and starter is not None and starter.is_file():
        info = register_starter(
            models, starter, flow.train_settings(), flow.work / "starter", dagster_run_id=context.run.run_id
        )
        context.log.info("registered the starter model %s as production %s", starter, info.version)
        return dg.MaterializeResult(
            metadata={
                "production": info.version,
                "registered": True,
                "start": info.metadata["lineage"]["start"],
            }
        )
    why = f"production is {production}" if production else f"no starter model at {starter}"
    context.log.info("starter model not registered: %s", why)
    return dg.MaterializeResult(metadata={"production": production or "", "registered": False, "note": why})
