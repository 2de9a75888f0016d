"""Exceptions that the command line turns into one line on stderr and an exit code."""


class CoscaleError(Exception):
    """Base class of coscale's own errors."""

    exit_code = 2


class InputError(CoscaleError):
    """Bad input: a file, a column, a value or a usage problem (exit code 2).

    The message is one line that names the file and, where it applies, the
    row (1-based data row, header not counted) and the column.
    """

    exit_code = 2


class ScaleError(InputError):
    """A scale definition (YAML) that cannot be used."""


class EstimationError(CoscaleError):
    """The model could not be estimated at all (exit code 3)."""

    exit_code = 3
