"""Errors the registry raises: one readable message each, safe to show to a user."""

from __future__ import annotations


class RegistryError(Exception):
    """A registry operation failed; the message says what and, where it applies, which file."""


class ObjectMissing(RegistryError):
    """An object the registry expected is not in the store."""
