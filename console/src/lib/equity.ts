// Curves from PnL snapshots: the total equity of several strategies over time, and drawdowns.

import type { Pnl } from "../api/types";
import { chartTime } from "./time";

export interface CurvePoint {
  time: number; // epoch seconds
  value: number;
}

/** Total equity: at each snapshot, the sum of every strategy's latest equity so far. */
export function totalEquityCurve(snapshots: Pnl[]): CurvePoint[] {
  const sorted = [...snapshots].sort((a, b) => Date.parse(a.ts) - Date.parse(b.ts));
  const latest = new Map<string, number>();
  const out: CurvePoint[] = [];
  for (const s of sorted) {
    const eq = Number(s.equity); // a chart's coordinate, not a displayed amount
    if (!Number.isFinite(eq)) continue;
    latest.set(s.strategy_id, eq);
    let total = 0;
    for (const v of latest.values()) total += v;
    const time = chartTime(s.ts);
    if (out.length && out[out.length - 1].time === time) out[out.length - 1].value = total;
    else out.push({ time, value: total });
  }
  return out;
}

/** Drawdown from the running peak, as a fraction (0 at a new high, -0.1 ten per cent below it). */
export function drawdownCurve(points: CurvePoint[]): CurvePoint[] {
  let peak = -Infinity;
  return points.map((p) => {
    peak = Math.max(peak, p.value);
    return { time: p.time, value: peak > 0 ? p.value / peak - 1 : 0 };
  });
}

/** The equity curve of one strategy. */
export function strategyEquityCurve(snapshots: Pnl[], strategyId?: string): CurvePoint[] {
  return totalEquityCurve(strategyId ? snapshots.filter((s) => s.strategy_id === strategyId) : snapshots);
}
