"""The flow resource's config is the pipeline settings: one field per setting, values kept both ways."""

from __future__ import annotations

from agrorisk_pipeline.defs.resources import FlowResource
from agrorisk_pipeline.settings import Settings


def test_every_pipeline_setting_is_a_flow_config_field_and_survives_the_round_trip(tmp_path):
    assert set(FlowResource.model_fields) == set(Settings.model_fields)
    assert FlowResource.model_fields["work_dir"].annotation is str  # Dagster config has no Path
    folders = ("work_dir", "prediction_log_dir", "feedback_dir", "retrain_requests_dir", "inbox_dir")
    settings = Settings(
        **{name: tmp_path / name for name in folders}, data_source="public", risk_ids=["wheat-leaf-rust"], val_fraction=0.2,
        starter_model=None, public_datasets_file=tmp_path / "datasets.yaml", epochs=3, plots=False,
    )  # fmt: skip
    flow = FlowResource.from_settings(settings)
    assert flow.settings().model_dump() == settings.model_dump()  # absolute folders stay as they are
    assert FlowResource.from_settings(settings, epochs=5).settings().epochs == 5
