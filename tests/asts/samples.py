"""Strategy sources the SDK tests write into strategy directories, and an installed package."""

from __future__ import annotations

import contextlib
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path

# Check verdicts shared by the tests of this package that load with checks (each process checks
# the built-ins once, not once per test or per module: the agent's check is the costly one).
CHECK_CACHE = Path(tempfile.mkdtemp(prefix="asts-checks-"))

# Long while the close is above the close n bars ago; a size in units.
MOMENTUM = '''
from decimal import Decimal

from asts import Bars, Field, Int, Params, Signal, Strategy, indicators


class MomentumParams(Params):
    """How far back the momentum looks, and the units held while long."""

    n: Int = Field(default=10, ge=1, le=500, description="bars of momentum")
    size: Decimal = Field(default=Decimal("1"), gt=0, description="units held while long")


class Momentum(Strategy):
    """Long while the close is above the close n bars ago, flat below."""

    name = "momentum"
    params_model = MomentumParams

    def warmup(self, p):
        return p.n + 1

    def signal(self, bars: Bars, p) -> Signal:
        before = indicators.shift(bars.close, p.n)
        return Signal.where(long=bars.close > before, flat=bars.close < before)
'''


# Long MSFT/USD while GOOGL/USD is above its 5-bar mean: a declared peer.
PAIRS = '''
from asts import Bars, Params, Signal, Strategy, indicators


class Pairs(Strategy):
    """Long MSFT while GOOGL is above its 5-bar mean at the same time, flat below."""

    name = "pairs"
    peers = ("GOOGL/USD",)

    def warmup(self, p: Params) -> int:
        return 5

    def signal(self, bars: Bars, p: Params) -> Signal:
        if "GOOGL/USD" not in bars.peers:
            return Signal.hold(len(bars))
        lead = bars.align("GOOGL/USD")
        mean = indicators.sma(lead, 5)
        return Signal.where(long=lead > mean, flat=lead < mean)
'''


@contextlib.contextmanager
def package_on_path(directory: Path) -> Iterator[Path]:
    """A distribution in ``directory``, on sys.path while inside, with an ``asts.strategies`` entry
    point (``pkg_momentum``: MOMENTUM under another name) and an ``asts.analysts`` one."""
    pkg = directory / "asts_demo_pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(
        textwrap.dedent(MOMENTUM).replace('name = "momentum"', 'name = "pkg_momentum"')
        + textwrap.dedent(
            """
            from asts import Report, analyst


            @analyst("always_bullish")
            def always_bullish(ctx):
                \"\"\"Says buy, whatever it sees.\"\"\"
                return Report(score=1.0, confidence=0.9, rationale=f"{len(ctx.bars)} bars look fine")
            """
        )
    )
    info = directory / "asts_demo_pkg-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: asts-demo-pkg\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        "[asts.strategies]\npkg_momentum = asts_demo_pkg:Momentum\n\n"
        "[asts.analysts]\nalways_bullish = asts_demo_pkg:always_bullish\n"
    )
    sys.path.insert(0, str(directory))
    try:
        yield directory
    finally:
        sys.path.remove(str(directory))
        sys.modules.pop("asts_demo_pkg", None)
