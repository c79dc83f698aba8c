"""Pure trading domain: values, orders, positions, PnL, indicators, strategies, risk."""
