"""Exit codes shared by every command (documented in the README)."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0  # everything asked for was answered
    FAILURE = 1  # nothing could be answered
    USAGE = 2  # the command line was wrong
    POLICY = 3  # a --fail-on policy gate fired (wins over PARTIAL)
    PARTIAL = 4  # some inputs, records or addresses could not be read or answered


def combine(*, answered: int, failed: int, policy_fired: bool = False) -> ExitCode:
    """The exit code for a run that answered ``answered`` items and failed ``failed``."""
    if policy_fired:
        return ExitCode.POLICY
    if failed and not answered:
        return ExitCode.FAILURE
    if failed:
        return ExitCode.PARTIAL
    return ExitCode.OK
