import { createColumnHelper } from "@tanstack/react-table";
import { useMemo, useState } from "react";
import { Link, useNavigate } from "react-router";

import { useApiQuery, usePage } from "../api/hooks";
import { keys } from "../api/keys";
import type { Backtest, Optimization, StrategyType } from "../api/types";
import { useUser } from "../auth/AuthContext";
import { can } from "../auth/roles";
import { DataTable, NUM } from "../components/DataTable";
import { RunForm } from "../components/RunForm";
import { PageTitle, QueryState, Section } from "../components/States";
import { Status, Time } from "../components/Values";
import { formatNumber, formatPercent } from "../lib/money";

const bt = createColumnHelper<Backtest>();
const op = createColumnHelper<Optimization>();

function requestSummary(r: Record<string, unknown>): string {
  const data = (r.data ?? {}) as Record<string, unknown>;
  const store = data.store as Record<string, unknown> | undefined;
  const src = data.symbol ?? (store ? `${store.exchange}:${store.symbol} ${store.timeframe}` : data.csv_path ?? "");
  return `${String(r.strategy_type ?? r.strategy ?? "")} on ${String(src)}`;
}

export function Backtests() {
  const user = useUser();
  const navigate = useNavigate();
  const [tab, setTab] = useState<"backtest" | "optimization">("backtest");
  const [pick, setPick] = useState<string[]>([]);
  const types = useApiQuery<{ data: StrategyType[] }>(keys.strategyTypes(), "/strategy-types", { poll: false, staleTime: 60_000 });
  const backtests = usePage<Backtest>(keys.backtests(), "/backtests", { query: { limit: 200 } });
  const optimizations = usePage<Optimization>(keys.optimizations(), "/optimizations", { query: { limit: 200 } });

  const btCols = useMemo(
    () => [
      bt.display({
        id: "pick",
        header: "Compare",
        cell: (c) => (
          <input
            type="checkbox"
            aria-label={`compare ${c.row.original.id}`}
            data-testid={`compare-pick-${c.row.original.id}`}
            checked={pick.includes(c.row.original.id)}
            onClick={(e) => e.stopPropagation()}
            onChange={(e) => setPick((p) => (e.target.checked ? [...p.filter((x) => x !== c.row.original.id), c.row.original.id].slice(-2) : p.filter((x) => x !== c.row.original.id)))}
          />
        ),
      }),
      bt.accessor("id", { header: "Backtest", cell: (c) => <Link to={`/backtests/${encodeURIComponent(c.getValue())}`}>{c.getValue()}</Link> }),
      bt.accessor("request", { header: "What", cell: (c) => requestSummary(c.getValue()), enableSorting: false }),
      bt.accessor("status", { header: "Status", cell: (c) => <Status value={c.getValue()} /> }),
      bt.accessor((r) => r.metrics?.total_return ?? null, { id: "ret", header: "Return", cell: (c) => formatPercent(c.getValue()), meta: NUM }),
      bt.accessor((r) => r.metrics?.sharpe ?? null, { id: "sharpe", header: "Sharpe", cell: (c) => formatNumber(c.getValue()), meta: NUM }),
      bt.accessor((r) => r.metrics?.max_drawdown ?? null, { id: "mdd", header: "Max DD", cell: (c) => formatPercent(c.getValue()), meta: NUM }),
      bt.accessor("created_at", { header: "Submitted", cell: (c) => <Time value={c.getValue()} /> }),
    ],
    [pick],
  );
  const opCols = useMemo(
    () => [
      op.accessor("id", { header: "Optimisation", cell: (c) => <Link to={`/optimizations/${encodeURIComponent(c.getValue())}`}>{c.getValue()}</Link> }),
      op.accessor("request", {
        header: "What",
        cell: (c) => `${requestSummary(c.getValue())} · ${String(c.getValue().method ?? "")} / ${String(c.getValue().objective ?? "")}`,
        enableSorting: false,
      }),
      op.accessor("status", { header: "Status", cell: (c) => <Status value={c.getValue()} /> }),
      op.accessor((r) => `${r.progress?.done ?? r.done}/${r.progress?.total ?? r.total}`, { id: "progress", header: "Done", meta: NUM }),
      op.accessor("best_score", { header: "Best score", cell: (c) => formatNumber(c.getValue(), 3), meta: NUM }),
      op.accessor("created_at", { header: "Submitted", cell: (c) => <Time value={c.getValue()} /> }),
    ],
    [],
  );

  return (
    <div className="page">
      <PageTitle
        actions={
          pick.length === 2 ? (
            <button type="button" className="btn" data-testid="compare-open" onClick={() => navigate(`/compare?a=${encodeURIComponent(pick[0])}&b=${encodeURIComponent(pick[1])}`)}>
              Compare {pick[0]} and {pick[1]}
            </button>
          ) : (
            <span className="muted">Tick two backtests to compare them.</span>
          )
        }
      >
        Backtests and optimisations
      </PageTitle>
      {can(user, "backtest.submit") ? (
        <Section
          title="Submit"
          actions={
            <span className="btn-row">
              <button type="button" className={`btn btn-small ${tab === "backtest" ? "btn-primary" : ""}`} onClick={() => setTab("backtest")} data-testid="tab-backtest">
                Backtest
              </button>
              <button type="button" className={`btn btn-small ${tab === "optimization" ? "btn-primary" : ""}`} onClick={() => setTab("optimization")} data-testid="tab-optimization">
                Optimisation
              </button>
            </span>
          }
        >
          <QueryState q={types} what="strategy types" isEmpty={(d) => d.data.length === 0} empty="The API has no strategy type loaded.">
            {(d) => <RunForm key={tab} types={d.data} kind={tab} />}
          </QueryState>
        </Section>
      ) : null}
      <Section title="Backtests">
        <QueryState q={backtests} what="backtests" empty="No backtest yet.">
          {(d) => (
            <DataTable
              data={d.data}
              columns={btCols}
              testId="backtests-table"
              rowTestId={(r) => `backtest-row-${r.id}`}
              onRowClick={(r) => navigate(`/backtests/${encodeURIComponent(r.id)}`)}
              dense
            />
          )}
        </QueryState>
      </Section>
      <Section title="Optimisations">
        <QueryState q={optimizations} what="optimisations" empty="No optimisation yet.">
          {(d) => (
            <DataTable
              data={d.data}
              columns={opCols}
              testId="optimizations-table"
              rowTestId={(r) => `optimization-row-${r.id}`}
              onRowClick={(r) => navigate(`/optimizations/${encodeURIComponent(r.id)}`)}
              dense
            />
          )}
        </QueryState>
      </Section>
    </div>
  );
}
