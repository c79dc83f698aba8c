"""The built-in strategy types, written on the SDK like any user's."""
