// A backtest's metrics (trading.metrics.Metrics) and how to show them.

import { formatNumber, formatPercent } from "./money";

export interface MetricSpec {
  key: string;
  label: string;
  format: "pct" | "num" | "money" | "int";
  /** Higher is better (false: lower is better; undefined: neither). */
  higher?: boolean;
}

export const METRICS: MetricSpec[] = [
  { key: "total_return", label: "Total return", format: "pct", higher: true },
  { key: "annual_return", label: "Annual return", format: "pct", higher: true },
  { key: "buy_and_hold_return", label: "Buy and hold", format: "pct" },
  { key: "annual_volatility", label: "Annual volatility", format: "pct", higher: false },
  { key: "sharpe", label: "Sharpe", format: "num", higher: true },
  { key: "sortino", label: "Sortino", format: "num", higher: true },
  { key: "calmar", label: "Calmar", format: "num", higher: true },
  { key: "max_drawdown", label: "Max drawdown", format: "pct", higher: true },
  { key: "max_drawdown_duration", label: "Max DD duration (bars)", format: "int", higher: false },
  { key: "trades", label: "Trades", format: "int" },
  { key: "win_rate", label: "Win rate", format: "pct", higher: true },
  { key: "profit_factor", label: "Profit factor", format: "num", higher: true },
  { key: "exposure", label: "Exposure", format: "pct" },
  { key: "commissions", label: "Commissions", format: "money", higher: false },
  { key: "final_equity", label: "Final equity", format: "money", higher: true },
];

export function formatMetric(spec: MetricSpec | undefined, v: unknown): string {
  if (v === null || v === undefined) return "—";
  if (typeof v !== "number") return String(v);
  switch (spec?.format) {
    case "pct":
      return formatPercent(v);
    case "int":
      return formatNumber(v, 0);
    case "money":
      return formatNumber(v, 2);
    default:
      return formatNumber(v, 3);
  }
}

/** Every metric of a record, known ones first in their order, then the rest. */
export function metricRows(metrics: Record<string, unknown> | null | undefined): [MetricSpec, unknown][] {
  if (!metrics) return [];
  const known = METRICS.filter((m) => m.key in metrics).map((m) => [m, metrics[m.key]] as [MetricSpec, unknown]);
  const rest = Object.keys(metrics)
    .filter((k) => !METRICS.some((m) => m.key === k))
    .map((k) => [{ key: k, label: k, format: "num" } as MetricSpec, metrics[k]] as [MetricSpec, unknown]);
  return [...known, ...rest];
}

/** Which of two values is better for this metric: "a", "b" or null. */
export function better(spec: MetricSpec, a: unknown, b: unknown): "a" | "b" | null {
  if (spec.higher === undefined || typeof a !== "number" || typeof b !== "number" || a === b) return null;
  return (a > b) === spec.higher ? "a" : "b";
}
