"""Parity, proved: a strategy run live on the paper venue in lockstep with its bars and the
backtest of the same bars with the paper venue's fill model give the same fills and the same
final equity, to the cent (``tests/parity.py``)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from activities.deps import Deps
from tests.factories import make_config
from tests.parity import Venue, backtest, live
from trading.exits import Exits

D = Decimal
# (the strategy's settings, the venue's replay): the second window of SPX/USD has stops, targets
# and trailing stops firing, one stop through a gap down. A long/short strategy runs on the paper
# venue as a margin account; with exits, some of its reversals find an exit filled first and
# place only their entry.
STRATEGIES: dict[str, tuple[dict[str, Any], Venue]] = {
    "long only": ({}, Venue(symbol="MSFT/USD", start_bar=200, bars=120)),
    "long and short": ({"direction": "long_short"}, Venue(symbol="MSFT/USD", start_bar=200, bars=120)),
    "long and short with stops": (
        {
            "direction": "long_short",
            "exits": Exits(stop_loss=D("0.01"), take_profit=D("0.04"), trailing=D("0.015")),
        },
        Venue(symbol="SPX/USD", start_bar=200, bars=120),
    ),
    "stops, targets and trailing stops": (
        {"exits": Exits(stop_loss=D("0.01"), take_profit=D("0.04"), trailing=D("0.015"))},
        Venue(symbol="SPX/USD", start_bar=200, bars=120),
    ),
}


@pytest.mark.parametrize("name", list(STRATEGIES))
async def test_live_on_the_paper_venue_and_the_backtest_agree_to_the_cent(
    name: str, dev_env: WorkflowEnvironment, deps: Deps, tmp_path: Path
) -> None:
    settings, venue = STRATEGIES[name]
    cfg = make_config(symbols=[venue.symbol], params={"fast": 3, "slow": 8, "size": "10"}, **settings)
    ran = await live(dev_env.client, deps, tmp_path, cfg, venue)
    tested = backtest(cfg, venue)
    print(f"{name}: live {ran.row()}; backtest {tested.row()}")
    assert ran.fills, "the live run traded nothing: nothing was compared"
    assert ran.fills == tested.fills
    assert ran.equity == tested.equity
    assert ran.exits == tested.exits
    if cfg.exits is not None:  # every kind fired, one stop through a gap
        assert {"stop_loss", "take_profit", "trailing"} <= set(ran.exits) and (tested.gaps or 0) > 0
