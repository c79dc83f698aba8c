import { useState } from "react";
import { Link, useNavigate, useParams } from "react-router";

import { usePage, useRun } from "../api/hooks";
import { keys } from "../api/keys";
import type { Backtest } from "../api/types";
import { useUser } from "../auth/AuthContext";
import { can } from "../auth/roles";
import { ConfirmDialog } from "../components/ConfirmDialog";
import { ProgressBar } from "../components/ProgressBar";
import { EquityCharts, MetricsGrid, RunEntries, RunRequest, TradesTable } from "../components/RunResults";
import { PageTitle, pageUntilLoaded, Section } from "../components/States";
import { Status } from "../components/Values";

export function BacktestDetail() {
  const { id = "" } = useParams();
  const user = useUser();
  const navigate = useNavigate();
  const [confirm, setConfirm] = useState(false);
  const [other, setOther] = useState("");
  const { q, cancel } = useRun<Backtest>(`/backtests/${encodeURIComponent(id)}`, keys.backtest(id), keys.backtests(), () => setConfirm(false));
  const list = usePage<Backtest>(keys.backtests(), "/backtests", { query: { limit: 200 }, poll: false });
  const waiting = pageUntilLoaded(q, `Backtest ${id}`);
  if (waiting) return waiting;
  const b = q.data!;
  const running = b.status === "running";
  const progress = b.progress ?? null;
  return (
    <div className="page">
      <PageTitle
        actions={
          <span className="row-actions">
            {running && can(user, "backtest.cancel") ? (
              <button type="button" className="btn btn-danger" data-testid="backtest-cancel" onClick={() => setConfirm(true)}>
                Cancel
              </button>
            ) : null}
            <select value={other} onChange={(e) => setOther(e.target.value)} aria-label="compare with" data-testid="compare-with">
              <option value="">compare with…</option>
              {(list.data?.data ?? [])
                .filter((x) => x.id !== id)
                .map((x) => (
                  <option key={x.id} value={x.id}>
                    {x.id} ({x.status})
                  </option>
                ))}
            </select>
            <button type="button" className="btn" disabled={!other} onClick={() => navigate(`/compare?a=${encodeURIComponent(id)}&b=${encodeURIComponent(other)}`)}>
              Compare
            </button>
          </span>
        }
      >
        Backtest {b.id} <Status value={b.status} testId="backtest-status" />
      </PageTitle>
      <div className="summary">
        <dl className="kv kv-inline">
          <RunEntries run={b} />
        </dl>
        {running || progress ? (
          <ProgressBar
            done={progress?.done ?? 0}
            total={progress?.total ?? 0}
            testId="backtest-progress"
            label="backtest progress"
          />
        ) : null}
        {b.error ? <div className="form-error">{b.error}</div> : null}
        {b.conventions ? <p className="muted">{b.conventions}</p> : null}
        <RunRequest request={b.request} />
      </div>
      <Section title="Metrics">
        <MetricsGrid metrics={b.metrics} />
      </Section>
      <Section title="Equity and drawdown">
        <EquityCharts b={b} />
      </Section>
      <Section title={`Trades${b.trades ? ` (${b.trades.length})` : ""}`}>
        {b.trades ? <TradesTable trades={b.trades} /> : <div className="muted">{running ? "Running…" : "No trade list."}</div>}
      </Section>
      <p>
        <Link to="/backtests">← all backtests</Link>
      </p>
      {confirm ? (
        <ConfirmDialog title={`Cancel ${b.id}`} confirmLabel="Cancel backtest" danger busy={cancel.isPending} onCancel={() => setConfirm(false)} onConfirm={() => cancel.mutate()}>
          <p className="confirm-text">Cancel: the backtest stops where it is and records no result.</p>
        </ConfirmDialog>
      ) : null}
    </div>
  );
}
