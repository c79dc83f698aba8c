import type { Pnl } from "../api/types";
import { drawdownCurve, totalEquityCurve } from "./equity";

function snap(strategy_id: string, ts: string, equity: string): Pnl {
  return { strategy_id, ts, equity, cycle: 1, realised: "0", unrealised: "0", fees: "0", exposure: "0" };
}

describe("equity curves", () => {
  it("sums each strategy's latest equity over time", () => {
    const c = totalEquityCurve([
      snap("b", "2024-01-01T00:01:00Z", "50"),
      snap("a", "2024-01-01T00:00:00Z", "100"),
      snap("a", "2024-01-01T00:02:00Z", "110"),
    ]);
    expect(c.map((p) => p.value)).toEqual([100, 150, 160]);
  });

  it("measures drawdown from the running peak", () => {
    const dd = drawdownCurve([
      { time: 1, value: 100 },
      { time: 2, value: 90 },
      { time: 3, value: 120 },
      { time: 4, value: 108 },
    ]);
    expect(dd.map((p) => Number(p.value.toFixed(3)))).toEqual([0, -0.1, 0, -0.1]);
  });
});
