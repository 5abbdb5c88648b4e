"""The one exception type for user errors.

The CLI prints a :class:`PushforwardError` as one line and exits with code 2; anything else is a
bug and keeps its traceback.
"""

from __future__ import annotations


class PushforwardError(ValueError):
    """Bad input from the user: a file, a column, a value, a name or a spec.

    The message is one line that names the problem (file, row, column, value).

    Example:
        >>> try:
        ...     raise PushforwardError("data.csv: row 3, column 'x': 'abc' is not a number")
        ... except ValueError as e:
        ...     print(e)
        data.csv: row 3, column 'x': 'abc' is not a number
    """
