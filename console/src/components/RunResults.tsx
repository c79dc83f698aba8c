import { createColumnHelper } from "@tanstack/react-table";
import { useMemo } from "react";

import type { Backtest, BacktestTrade } from "../api/types";
import { formatNumber, formatPercent } from "../lib/money";
import { formatMetric, metricRows } from "../lib/metrics";
import { chartTime } from "../lib/time";
import { LineChart, type Point } from "./Charts";
import { DataTable, NUM } from "./DataTable";
import { Status, Time, WorkflowLink } from "./Values";

const col = createColumnHelper<BacktestTrade>();

/** Where a backtest or an optimisation runs and when: entries of its summary's key-value list. */
export function RunEntries({ run }: { run: Pick<Backtest, "workflow_id" | "created_at" | "finished_at"> }) {
  return (
    <>
      <dt>Workflow</dt>
      <dd>
        <WorkflowLink id={run.workflow_id} />
      </dd>
      <dt>Submitted</dt>
      <dd>
        <Time value={run.created_at} />
      </dd>
      <dt>Finished</dt>
      <dd>
        <Time value={run.finished_at} />
      </dd>
    </>
  );
}

/** The request a run was submitted with, folded. */
export function RunRequest({ request }: { request: unknown }) {
  return (
    <details>
      <summary>Request</summary>
      <pre className="json">{JSON.stringify(request, null, 2)}</pre>
    </details>
  );
}

function nsToIso(ns: number | null): string | null {
  if (ns === null || ns === undefined) return null;
  return new Date(Math.floor(ns / 1e6)).toISOString();
}

export function curves(b: Backtest): { equity: Point[]; drawdown: Point[] } {
  const e = b.equity;
  if (!e || !Array.isArray(e.ts)) return { equity: [], drawdown: [] };
  const equity: Point[] = [];
  const drawdown: Point[] = [];
  e.ts.forEach((t, i) => {
    const time = chartTime(t);
    if (typeof e.equity?.[i] === "number") equity.push({ time, value: e.equity[i] });
    if (typeof e.drawdown?.[i] === "number") drawdown.push({ time, value: e.drawdown[i] });
  });
  return { equity, drawdown };
}

export function MetricsGrid({ metrics }: { metrics: Record<string, unknown> | null | undefined }) {
  const rows = metricRows(metrics);
  if (!rows.length) return <div className="muted">No metrics yet.</div>;
  return (
    <dl className="kv kv-inline" data-testid="metrics">
      {rows.map(([spec, v]) => [
        <dt key={`${spec.key}-t`}>{spec.label}</dt>,
        <dd key={`${spec.key}-d`} className="num" data-testid={`metric-${spec.key}`}>
          {formatMetric(spec, v)}
        </dd>,
      ])}
    </dl>
  );
}

export function EquityCharts({ b, height = 220 }: { b: Backtest; height?: number }) {
  const c = useMemo(() => curves(b), [b]);
  return (
    <div className="grid-2">
      <div>
        <h4>Equity</h4>
        <LineChart points={c.equity} area testId="equity-chart" height={height} label="equity" />
      </div>
      <div>
        <h4>Drawdown</h4>
        <LineChart points={c.drawdown} area percent color="#ef5350" testId="drawdown-chart" height={height} label="drawdown" />
      </div>
    </div>
  );
}

export function TradesTable({ trades }: { trades: BacktestTrade[] }) {
  const columns = useMemo(
    () => [
      col.accessor("entry_ts", { header: "Entry", cell: (c) => nsToIso(c.getValue())?.replace("T", " ").slice(0, 19) ?? "—" }),
      col.accessor("exit_ts", { header: "Exit", cell: (c) => nsToIso(c.getValue())?.replace("T", " ").slice(0, 19) ?? "open" }),
      col.accessor("side", { header: "Side" }),
      col.accessor("size", { header: "Size", cell: (c) => formatNumber(c.getValue(), 4), meta: NUM }),
      col.accessor("entry_price", { header: "Entry price", cell: (c) => formatNumber(c.getValue(), 4), meta: NUM }),
      col.accessor("exit_price", { header: "Exit price", cell: (c) => formatNumber(c.getValue(), 4), meta: NUM }),
      col.accessor("pnl", {
        header: "PnL",
        cell: (c) => <span className={c.getValue() > 0 ? "pos" : c.getValue() < 0 ? "neg" : ""}>{formatNumber(c.getValue(), 2)}</span>,
        meta: NUM,
      }),
      col.accessor((t) => (t.exit_price && t.entry_price ? (t.side === "short" ? t.entry_price / t.exit_price - 1 : t.exit_price / t.entry_price - 1) : null), {
        id: "ret",
        header: "Return",
        cell: (c) => formatPercent(c.getValue()),
        meta: NUM,
      }),
      col.accessor("commission", { header: "Commission", cell: (c) => formatNumber(c.getValue(), 2), meta: NUM }),
      col.accessor("exit_reason", { header: "Exit reason", cell: (c) => <Status value={c.getValue()} /> }),
    ],
    [],
  );
  return <DataTable data={trades} columns={columns} testId="trades-table" rowTestId={(t) => `trade-row-${t.entry_ts}`} dense empty="No trade." />;
}
