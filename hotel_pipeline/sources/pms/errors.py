"""Typed connector errors: each says what happened (vendor, request, status, attempts) and never carries a secret.

Why typed: the extract asset and integration_status report *what kind* of failure a hotel had (credentials,
throttling, vendor outage, garbage bodies), and only some kinds are worth retrying.
"""

from __future__ import annotations


class ConnectorError(Exception):
    """Base of every connector failure. Messages are built from method, path, status and counts only."""

    retryable = False


class ConfigError(ConnectorError):
    """The portfolio source is incomplete (e.g. a credential environment variable is not set)."""


class AuthError(ConnectorError):
    """The vendor refused the credentials (401/403, or its own idiom for it)."""


class ThrottledError(ConnectorError):
    """Still throttled (429) after every allowed retry."""

    retryable = True


class ServerError(ConnectorError):
    """5xx, timeouts or connection failures after every allowed retry, or an error the vendor reports in-body."""

    retryable = True


class HeavyQueryError(ServerError):
    """The vendor refused a query as too heavy (Mews 408): the caller should shrink the window and retry."""


class MalformedResponseError(ConnectorError):
    """The body was not the JSON the vendor documents (truncated, HTML, missing keys) after every retry."""

    retryable = True


class ClientRequestError(ConnectorError):
    """A 4xx the connector caused (bad parameters): a bug or a changed API, not worth retrying."""


class IncompleteListingError(ConnectorError):
    """A listing's pages did not add up to the total the vendor announced (shifted/repeated pages)."""

    retryable = True
