"""What every AgroRisk CLI shares: its command group, its stdout/stderr consoles, and one readable red
error line with exit code 1, never a traceback."""

from __future__ import annotations

from contextlib import ContextDecorator
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

HostOption = Annotated[
    str | None, typer.Option(help="Interface to listen on (default: the service's HOST setting).")
]
"""The `--host` of every service's `serve` command."""

PortOption = Annotated[
    int | None, typer.Option(help="Port to listen on (default: the service's PORT setting).")
]
"""The `--port` of every HTTP service's `serve` command."""


def cli_app(help: str) -> typer.Typer:
    """A package's command group: `--help` when called bare, no shell-completion options, no rich
    tracebacks (expected failures are one line, see `one_line_errors`), logging set up before any
    command runs."""
    from agrorisk_common.logging import configure_logging

    app = typer.Typer(help=help, no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)

    @app.callback()
    def main() -> None:
        configure_logging()

    return app


def fail(message: str) -> typer.Exit:
    """Print `error: message` on stderr; raise the returned Exit (`raise fail(...)`) to end with code 1."""
    err.print(f"[red]error:[/red] {message}", highlight=False)
    return typer.Exit(1)


def one_line(exc: BaseException) -> str:
    """An exception as one readable line: a settings error names the setting and says what is wrong;
    any other keeps its first line."""
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        return f"invalid setting {field}: {first['msg']}" if field else f"invalid settings: {first['msg']}"
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class one_line_errors(ContextDecorator):  # noqa: N801 (used like a function: `with one_line_errors(...)`)
    """Every CLI's error boundary, as a `with` block or a command decorator: an expected failure
    (ValueError — settings errors among them —, OSError, and the `expected` types) ends the command
    with `error: <one line>` on stderr and exit code 1; anything else is a bug and keeps its traceback."""

    def __init__(self, *expected: type[BaseException]):
        self.expected = (ValueError, OSError, *expected)

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, _tb: object) -> None:
        if exc is not None and isinstance(exc, self.expected):
            raise fail(one_line(exc)) from None
