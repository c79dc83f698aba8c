"""The Binance emulator's defaults, apart so the CLI can show them without loading the emulator."""

DEFAULT_PORT = 9900
# The emulator's published credentials (the README's example uses them): a local test venue's, not a
# secret.
DEFAULT_API_KEY = "emulator-key"
DEFAULT_SECRET = "emulator-secret"  # noqa: S105  # nosec B105
