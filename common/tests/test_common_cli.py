"""CLI errors are one readable line: a bad setting is named, never a pydantic dump or a traceback."""

import pytest
from pydantic import Field, ValidationError, model_validator

from agrorisk_common.cli import one_line
from agrorisk_common.settings import AgroRiskSettings, service_config


class DemoSettings(AgroRiskSettings):
    model_config = service_config("AGRORISK_DEMO_")
    port: int = Field(8000, ge=1, le=65535)
    low: int = 1
    high: int = 2

    @model_validator(mode="after")
    def _ordered(self):
        if self.low > self.high:
            raise ValueError("low must be <= high")
        return self


def error_of(**env) -> ValidationError:
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        with pytest.raises(ValidationError) as caught:
            DemoSettings()
    return caught.value


def test_a_bad_setting_is_named_in_one_line():
    message = one_line(error_of(AGRORISK_DEMO_PORT="eighty"))
    assert message.startswith("invalid setting port: ")
    assert "\n" not in message and "pydantic.dev" not in message


def test_a_rule_across_settings_is_one_line():
    message = one_line(error_of(AGRORISK_DEMO_LOW="5", AGRORISK_DEMO_HIGH="3"))
    assert message == "invalid settings: Value error, low must be <= high"


def test_other_errors_keep_their_first_line():
    assert one_line(OSError("disk full\nmore detail")) == "disk full"
    assert one_line(RuntimeError()) == "RuntimeError"


def test_a_misspelt_setting_is_named_with_the_likely_one(monkeypatch, caplog):
    import logging

    from agrorisk_common.settings import AgroRiskSettings, service_config

    class Demo(AgroRiskSettings):
        model_config = service_config("AGRORISK_UNITTEST_")
        epochs: int = 3

    monkeypatch.setenv("AGRORISK_UNITTEST_EPOHCS", "5")
    with caplog.at_level(logging.WARNING, logger="agrorisk_common.settings"):
        assert Demo().epochs == 3
    assert (
        "AGRORISK_UNITTEST_EPOHCS is set but no setting reads it; did you mean AGRORISK_UNITTEST_EPOCHS?"
        in caplog.text
    )


def test_one_line_errors_ends_a_command_with_one_line_and_exit_1():
    import typer
    from typer.testing import CliRunner

    from agrorisk_common.cli import one_line_errors

    class RegistryDown(Exception):
        pass

    app = typer.Typer()

    @app.command()
    @one_line_errors(RegistryDown)
    def run(kind: str = "value") -> None:
        """Fails the way it is told to."""
        raise {"value": ValueError("bad value\nsecond line"), "registry": RegistryDown("registry down")}[kind]

    for kind, line in (("value", "error: bad value"), ("registry", "error: registry down")):
        result = CliRunner().invoke(app, ["--kind", kind])
        assert result.exit_code == 1 and line in result.output and "Traceback" not in result.output
        assert "second line" not in result.output
    assert "--kind" in CliRunner().invoke(app, ["--help"]).output  # the decorated signature is typer's
