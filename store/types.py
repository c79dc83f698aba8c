"""Column types that keep money exact and times in UTC on both SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Context, Decimal, InvalidOperation
from typing import Any

from sqlalchemy import DateTime, Numeric, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

MONEY_PRECISION = 38
MONEY_SCALE = 18
_INTEGER_DIGITS = MONEY_PRECISION - MONEY_SCALE
_QUANTUM = Decimal(1).scaleb(-MONEY_SCALE)
# Wide enough that nothing below is ever rounded by the context itself; the default
# context (28 digits) would silently round a 38-digit amount.
_CTX = Context(prec=MONEY_PRECISION + 10, traps=[InvalidOperation])


def canonical_decimal(value: Decimal) -> Decimal:
    """``value`` without trailing fractional zeros and without a positive exponent.

    ``Decimal("1.500")`` becomes ``Decimal("1.5")``, ``Decimal("1E+2")`` becomes
    ``Decimal("100")`` and any zero (``-0.00``) becomes ``Decimal("0")``, so equal
    amounts also have equal ``str()`` and ``as_tuple()`` whichever database they come from.
    """
    if value.is_zero():
        return Decimal(0)
    normal = value.normalize(_CTX)
    exponent = normal.as_tuple().exponent
    if isinstance(exponent, int) and exponent > 0:
        normal = normal.quantize(Decimal(1), context=_CTX)
    return normal


def to_money(value: object) -> Decimal:
    """Validate an amount for storage: rounded half-even to 18 places, at most 20 integer digits.

    Raises:
        TypeError: ``value`` is not a ``Decimal`` or ``int`` (floats are refused on purpose).
        ValueError: ``value`` is NaN/infinite or too large for ``NUMERIC(38, 18)``.
    """
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise TypeError(f"money must be Decimal or int, got {type(value).__name__}")
    amount = Decimal(value)
    if not amount.is_finite():
        raise ValueError(f"money must be finite, got {amount}")
    try:
        rounded = amount.quantize(_QUANTUM, context=_CTX)
    except InvalidOperation as e:
        raise ValueError(f"money out of range for NUMERIC(38, 18): {amount}") from e
    if not rounded.is_zero() and rounded.adjusted() >= _INTEGER_DIGITS:
        raise ValueError(f"money out of range for NUMERIC(38, 18): {amount}")
    return canonical_decimal(rounded)


class Money(TypeDecorator[Decimal]):
    """An exact decimal amount: ``NUMERIC(38, 18)`` on PostgreSQL, the decimal string in TEXT on SQLite.

    Binding accepts ``Decimal`` or ``int`` (see :func:`to_money`); results are
    ``Decimal`` in :func:`canonical_decimal` form. On SQLite the column is text, so SQL
    comparisons, ``ORDER BY`` and aggregates on it are lexicographic: compare in Python.
    """

    impl = Text
    cache_ok = True

    @property
    def python_type(self) -> type[Decimal]:
        """Values are ``Decimal``."""
        return Decimal

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        """NUMERIC on PostgreSQL, TEXT elsewhere."""
        if dialect.name == "postgresql":
            return dialect.type_descriptor(Numeric(MONEY_PRECISION, MONEY_SCALE, asdecimal=True))
        return dialect.type_descriptor(Text())

    def process_bind_param(self, value: Any, dialect: Dialect) -> Decimal | str | None:
        """Validate and round; SQLite gets the plain (non-exponent) decimal string."""
        if value is None:
            return None
        amount = to_money(value)
        if dialect.name == "postgresql":
            return amount
        return format(amount, "f")

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        """Parse back to a canonical ``Decimal``."""
        if value is None:
            return None
        if isinstance(value, float):  # only if someone wrote a REAL into the column by hand
            value = repr(value)
        return canonical_decimal(Decimal(value))


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC ``datetime`` in and out; naive input raises ``ValueError``.

    PostgreSQL stores ``TIMESTAMP WITH TIME ZONE``; SQLite stores the UTC wall time as
    fixed-width text, which sorts and compares correctly in SQL.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    @property
    def python_type(self) -> type[datetime]:
        """Values are ``datetime``."""
        return datetime

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        """Convert to UTC; refuse naive datetimes."""
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected datetime, got {type(value).__name__}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} refused; pass a timezone-aware UTC time")
        utc = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return utc.replace(tzinfo=None)
        return utc

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        """Attach or convert to UTC."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
