"""The whole flow in one process (CLI `materialize`, tests): assets and checks with given resources."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg

from agrorisk_pipeline.defs.resources import default_resources
from agrorisk_pipeline.settings import Settings


def flow_assets() -> list:
    from agrorisk_pipeline.defs.assets import (
        data_assets,
        drift_assets,
        inference_assets,
        model_assets,
        starter_assets,
    )

    modules = [data_assets, starter_assets, model_assets, inference_assets, drift_assets]
    return list(dg.load_assets_from_modules(modules))


def flow_checks() -> list:
    from agrorisk_pipeline.defs import asset_checks

    return list(dg.load_asset_checks_from_modules([asset_checks]))


@dataclass
class FlowResult:
    success: bool
    run_id: str
    failed_steps: list[str] = field(default_factory=list)
    summary: list[str] = field(default_factory=list)
    result: dg.ExecuteInProcessResult | None = None


def materialize_flow(
    *,
    work_dir: Path | None = None,
    selection: str = "*",
    resources: Mapping[str, Any] | None = None,
    instance: dg.DagsterInstance | None = None,
    on_step: Callable[[str], None] | None = None,
) -> FlowResult:
    """Materialize `selection` (Dagster selection syntax) with its checks; never raises on a failed step."""
    if resources is None:
        resources = default_resources(Settings(work_dir=work_dir) if work_dir else Settings())
    if instance is None:
        instance = (
            dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else dg.DagsterInstance.ephemeral()
        )
    try:
        result = dg.materialize(
            [*flow_assets(), *flow_checks()], resources=resources, instance=instance, selection=selection,
            raise_on_error=False,
        )  # fmt: skip
    except (dg.DagsterInvalidSubsetError, dg.DagsterInvalidDefinitionError) as exc:
        cause = exc.__cause__ or exc
        raise ValueError(f"bad asset selection {selection!r}: {str(cause).splitlines()[0]}") from None
    summary, failed = [], []
    for event in result.all_events:
        if event.is_step_success and on_step:
            on_step(f"{event.step_key} done")
        if event.is_step_failure:
            failed.append(event.step_key or "?")
            error = getattr(event.event_specific_data, "error", None)
            summary.append(f"FAILED {event.step_key}: {_cause(error)}")
    for event in result.get_asset_materialization_events():
        key = event.asset_key.to_user_string() if event.asset_key else "?"
        metadata = event.materialization.metadata
        shown = {k: v.value for k, v in metadata.items() if isinstance(v.value, str | int | float | bool)}
        summary.append(f"{key}: {_short(shown)}")
    for check in result.get_asset_check_evaluations():
        summary.append(
            f"check {check.check_name}: {'passed' if check.passed else 'FAILED'} {check.description or ''}"
        )
    return FlowResult(result.success, result.run_id, failed, summary, result)


def run_job(
    name: str,
    resources: Mapping[str, Any],
    instance: dg.DagsterInstance,
    *,
    loggers: Mapping[str, dg.LoggerDefinition] | None = None,
    tags: Mapping[str, str] | None = None,
) -> dg.ExecuteInProcessResult:
    """Execute the code location's job `name` (its assets and checks) in this process with `resources`,
    recorded in `instance` (a persistent one shows the run in the Dagster UI). `loggers` replace
    Dagster's console logger. Never raises on a failed step."""
    from agrorisk_pipeline.defs import jobs

    defs = dg.Definitions(
        assets=flow_assets(), asset_checks=flow_checks(), jobs=[getattr(jobs, f"{name}_job")],
        resources=resources, loggers=loggers,
    )  # fmt: skip
    run_config = {"loggers": {key: {} for key in loggers}} if loggers else None
    return defs.resolve_job_def(name).execute_in_process(
        run_config=run_config, instance=instance, tags=tags, raise_on_error=False
    )


def step_failures(result: dg.ExecuteInProcessResult) -> list[str]:
    """'step: innermost error' for each failed step of a run."""
    return [
        f"{event.step_key}: {_cause(getattr(event.event_specific_data, 'error', None))}"
        for event in result.all_events
        if event.is_step_failure
    ]


def _cause(error) -> str:
    """The innermost error message of a Dagster step failure."""
    while error is not None and error.cause is not None:
        error = error.cause
    return error.message.strip() if error is not None else "unknown error"


def _short(values: dict[str, Any], limit: int = 6) -> str:
    return ", ".join(f"{k}={str(v)[:60]}" for k, v in list(values.items())[:limit])
