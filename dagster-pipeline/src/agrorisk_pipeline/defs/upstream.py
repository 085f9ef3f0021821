"""What an asset's last materialization recorded: how assets hand each other registry versions and
file paths (IO lives in the registry and the work folder, never in pickled return values)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dagster as dg

from agrorisk_pipeline.defs.resources import FlowResource, RegistryResource


class MissingUpstream(Exception):
    """An upstream asset was never materialized in this Dagster instance."""


def latest_metadata(
    context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext, asset: str
) -> dict[str, Any]:
    """Raw metadata values of the newest materialization of `asset`."""
    event = context.instance.get_latest_materialization_event(dg.AssetKey(asset))
    if event is None or event.asset_materialization is None:
        raise MissingUpstream(f"asset {asset!r} has not been materialized yet: materialize it first")
    return {key: value.value for key, value in event.asset_materialization.metadata.items()}


def pulled_dataset(
    context: dg.AssetExecutionContext, registry: RegistryResource, flow: FlowResource, ref: str | None = None
) -> tuple[str, Path]:
    """(version, data.yaml) of the dataset version `ref` (default: the last `dataset_version`),
    pulled into the work folder."""
    version = ref or latest_metadata(context, "dataset_version")["version"]
    datasets = registry.datasets()
    info = datasets.show(version)
    folder = datasets.pull(info.version, flow.work / "datasets" / info.version)
    return info.version, folder / "data.yaml"


def link(value: str | None) -> dg.MetadataValue:
    """A W&B run (URL online, folder offline) or a report path as clickable metadata."""
    if value and value.startswith(("http://", "https://")):
        return dg.MetadataValue.url(value)
    return dg.MetadataValue.path(value or "")
