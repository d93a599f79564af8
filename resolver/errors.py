"""One root exception, and errors that say where the problem is."""

from __future__ import annotations


class ResolverError(Exception):
    """Root of every error the product raises on purpose."""


class ConfigError(ResolverError):
    """A config, zone or policy problem, with where it is (``file:line`` or a field path)."""

    def __init__(self, where: str, message: str, line: int | None = None) -> None:
        self.where = where
        self.line = line
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        if self.line is not None:
            return f"{self.where}:{self.line}: {self.message}"
        return f"{self.where}: {self.message}"


class ZoneError(ConfigError):
    """A zone file problem at ``file:line``."""


class FormError(ResolverError):
    """A packet that cannot be understood; answered with FORMERR when a header is readable."""


class InputError(ResolverError):
    """Bad input to an admin API call: what is wrong, the JSON path of the field at fault
    (``changes[2].records[0]``; None when no one field is), and the HTTP status to answer."""

    def __init__(self, message: str, field: str | None = None, status: int = 400) -> None:
        self.message = message
        self.field = field
        self.status = status
        super().__init__(message)
