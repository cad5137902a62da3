"""Errors with messages meant for the person at the page (shown as they are, never as a traceback)."""

from __future__ import annotations


class SurveyError(Exception):
    """Base: anything a page should show as a plain message."""


class DesignError(SurveyError):
    """A survey design that cannot be generated."""


class SurveyNotFound(SurveyError):
    """No survey has this code."""


class SurveyNotOpen(SurveyError):
    """The survey exists but takes no answers (draft or closed)."""


class JudgeNotFound(SurveyError):
    """The judge code in the link belongs to no judge of this survey."""


class ItemRejected(SurveyError):
    """An item id that is unknown, tampered with, or not given to this judge; or an invalid choice."""


class AccessDenied(SurveyError):
    """Admin pages without the right secret."""


class NameTaken(SurveyError):
    """A judge joined with a name another judge of the survey has: no one takes another's place by name."""


class JoinRefused(SurveyError):
    """The survey has all its judges, or this client has joined it as often as it may."""
