"""What every AgroRisk CLI shares: one readable red error line and exit code 1, never a traceback."""

from __future__ import annotations

import typer
from pydantic import ValidationError
from rich.console import Console

err = Console(stderr=True, soft_wrap=True)


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
