"""The one error type people see: bad input or a refused request, worded for whoever made it.

Slack listeners answer it ephemerally (with the usage line for a slash command), and the command
line prints it as one line with exit status 2. Raising it always means nothing was changed.
"""

from __future__ import annotations


class UserError(Exception):
    """Bad input or a refused request, in words for the person who made it; nothing was changed."""
