"""Schedules: batch inference and the drift report every night."""

import dagster as dg

from agrorisk_pipeline.defs.jobs import monitoring_job

nightly_monitoring = dg.ScheduleDefinition(
    name="nightly_monitoring",
    job=monitoring_job,
    cron_schedule="0 3 * * *",
    execution_timezone="Europe/Kyiv",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="batch inference of the inbox, drift of inputs and outputs, active-learning queue",
)
