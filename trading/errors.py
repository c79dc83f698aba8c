"""One error tree for the whole system.

`DomainError` means retrying cannot help (bad input, a rule said no); `TemporaryError`
means the same call may succeed later (a venue timed out, a lock was busy). Adapters
translate vendor errors into these with ``raise ... from e``; activities turn them
into Temporal ``ApplicationError`` with ``non_retryable`` set from the class.
"""

from __future__ import annotations


class TradingError(Exception):
    """Root of every error ASTS raises on purpose."""

    retryable: bool = False

    @property
    def kind(self) -> str:
        """Stable name of the error type, used as the Temporal failure type."""
        return type(self).__name__


class DomainError(TradingError):
    """A request that is wrong in itself; retrying it cannot succeed."""


class TemporaryError(TradingError):
    """A failure that may pass; the caller should retry with backoff.

    ``retry_after`` (seconds), when the source said how long to wait (a venue's rate
    limit), sets the delay before the next attempt.
    """

    retryable = True

    def __init__(self, message: str = "", *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class InvalidInput(DomainError):
    """Input that fails validation (negative size, unknown parameter, ...)."""


class UnknownSymbol(DomainError):
    """The venue does not list this symbol."""


class UnknownStrategyType(DomainError):
    """No strategy of this type is registered."""


class InvalidOrder(DomainError):
    """The venue refuses the order as specified (size under minimum, bad price)."""


class InsufficientBalance(DomainError):
    """The account cannot pay for the order."""


class OrderNotFound(DomainError):
    """No order with this client order id exists at the venue."""


class IllegalTransition(DomainError):
    """An order was asked to move between two states the table does not allow."""


class TradingHalted(DomainError):
    """The trading gate is closed: no order may be placed."""


class ExchangeUnavailable(TemporaryError):
    """The venue could not be reached or answered with a transient error."""


class OrderStatusUnknown(ExchangeUnavailable):
    """An order request got no clear answer (timeout, dropped connection, 5xx): the venue may or
    may not have accepted it. The next attempt looks the order up before placing it again."""


class AuthenticationFailed(DomainError):
    """The venue refused the API key, its signature or its permissions."""


class VenueRejected(DomainError):
    """The venue refused a request for a reason of its own that retrying will not change."""


class DuplicateClientOrderId(DomainError):
    """The venue already has an order with this client order id."""
