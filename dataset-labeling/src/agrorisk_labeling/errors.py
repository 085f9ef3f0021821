"""The one error type the CLI turns into a readable red line."""


class LabelingError(Exception):
    """Expected failure with a message meant for the user (bad input, missing model, server down)."""
