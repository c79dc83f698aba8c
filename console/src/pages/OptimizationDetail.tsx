import { useState } from "react";
import { Link, useParams } from "react-router";

import { useRun } from "../api/hooks";
import { keys } from "../api/keys";
import type { Evaluation, Optimization } from "../api/types";
import { useUser } from "../auth/AuthContext";
import { can } from "../auth/roles";
import { ConfirmDialog } from "../components/ConfirmDialog";
import { HeatMap } from "../components/HeatMap";
import { ProgressBar } from "../components/ProgressBar";
import { MetricsGrid, RunEntries, RunRequest } from "../components/RunResults";
import { PageTitle, pageUntilLoaded, Section } from "../components/States";
import { Status } from "../components/Values";
import { scoreOf } from "../lib/heatmap";
import { formatNumber } from "../lib/money";
import { formatMetric, METRICS } from "../lib/metrics";

export function OptimizationDetail() {
  const { id = "" } = useParams();
  const user = useUser();
  const [confirm, setConfirm] = useState(false);
  const { q, cancel } = useRun<Optimization>(`/optimizations/${encodeURIComponent(id)}`, keys.optimization(id), keys.optimizations(), () => setConfirm(false));
  const waiting = pageUntilLoaded(q, `Optimisation ${id}`);
  if (waiting) return waiting;
  const o = q.data!;
  const running = o.status === "running";
  const done = o.progress?.done ?? o.done;
  const total = o.progress?.total ?? o.total;
  const top: Evaluation[] = o.top ?? [];
  const request = o.request ?? {};
  const space = (request.space ?? null) as Record<string, unknown> | null;
  const isGrid = request.method === "grid" || request.method === undefined;
  const metricKeys = METRICS.filter((m) => top.some((e) => e.metrics && m.key in e.metrics)).slice(0, 6);
  return (
    <div className="page">
      <PageTitle
        actions={
          running && can(user, "optimization.cancel") ? (
            <button type="button" className="btn btn-danger" data-testid="backtest-cancel" onClick={() => setConfirm(true)}>
              Cancel
            </button>
          ) : null
        }
      >
        Optimisation {o.id} <Status value={o.status} testId="optimization-status" />
      </PageTitle>
      <div className="summary">
        <dl className="kv kv-inline">
          <dt>Strategy</dt>
          <dd>{String(request.strategy_type ?? "")}</dd>
          <dt>Method</dt>
          <dd>
            {String(request.method ?? "")} · {String(request.objective ?? "")}
          </dd>
          <RunEntries run={o} />
        </dl>
        <ProgressBar done={done} total={total} testId="backtest-progress" label="optimisation progress" />
        {o.error ? <div className="form-error">{o.error}</div> : null}
        <RunRequest request={request} />
      </div>
      <Section title="Best">
        {o.best_params ? (
          <div className="decision-detail">
            <div>
              score <strong className="num">{formatNumber(o.best_score, 4)}</strong> with <code>{JSON.stringify(o.best_params)}</code>
            </div>
            <MetricsGrid metrics={o.best_metrics} />
            {o.status === "done" ? (
              <div className="muted">
                Start a strategy with these parameters: give <code>params_from: {o.id}</code> (Strategies → Start → advanced).
              </div>
            ) : null}
          </div>
        ) : (
          <div className="muted">{running ? "No result yet." : "No best result."}</div>
        )}
      </Section>
      {isGrid ? (
        <Section title="Heat map">
          {top.length ? <HeatMap evals={top} space={space} best={o.best_params} /> : <div className="muted">No scored candidate yet.</div>}
        </Section>
      ) : null}
      <Section title={`Top results (${top.length})`}>
        {top.length ? (
          <div className="table-wrap">
            <table className="table dense" data-testid="top-table">
              <thead>
                <tr>
                  <th>#</th>
                  <th>Params</th>
                  <th className="num">Score</th>
                  {metricKeys.map((m) => (
                    <th key={m.key} className="num">
                      {m.label}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {top.map((e, i) => (
                  <tr key={i}>
                    <td>{i + 1}</td>
                    <td>
                      <code>{JSON.stringify(e.params)}</code>
                    </td>
                    <td className="num">{scoreOf(e) === null ? "—" : formatNumber(scoreOf(e), 4)}</td>
                    {metricKeys.map((m) => (
                      <td key={m.key} className="num">
                        {formatMetric(m, e.metrics?.[m.key])}
                      </td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ) : (
          <div className="muted">—</div>
        )}
      </Section>
      {o.walk_forward && o.walk_forward.length ? (
        <Section title="Walk-forward">
          <pre className="json">{JSON.stringify(o.walk_forward, null, 2)}</pre>
        </Section>
      ) : null}
      <p>
        <Link to="/backtests">← all backtests and optimisations</Link>
      </p>
      {confirm ? (
        <ConfirmDialog title={`Cancel ${o.id}`} confirmLabel="Cancel optimisation" danger busy={cancel.isPending} onCancel={() => setConfirm(false)} onConfirm={() => cancel.mutate()}>
          <p className="confirm-text">Cancel: the chunks under way stop and the record says cancelled; results so far are kept.</p>
        </ConfirmDialog>
      ) : null}
    </div>
  );
}
