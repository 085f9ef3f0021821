"""What every AgroRisk CLI shares: one readable red error line and exit code 1, never a traceback."""

from __future__ import annotations

import typer
from rich.console import Console

err = Console(stderr=True, soft_wrap=True)


def fail(message: str) -> typer.Exit:
    """Print `error: message` on stderr; raise the returned Exit (`raise fail(...)`) to end with code 1."""
    err.print(f"[red]error:[/red] {message}", highlight=False)
    return typer.Exit(1)
