import { useSearchParams } from "react-router";
import { Link } from "react-router";

import { useApiQuery } from "../api/hooks";
import { keys } from "../api/keys";
import type { Backtest } from "../api/types";
import { EquityCharts } from "../components/RunResults";
import { Empty, PageTitle, QueryError, Section } from "../components/States";
import { Status } from "../components/Values";
import { better, formatMetric, metricRows } from "../lib/metrics";

function useRun(id: string) {
  return useApiQuery<Backtest>(keys.backtest(id), `/backtests/${encodeURIComponent(id)}`, { enabled: !!id });
}

function flatten(o: unknown, prefix = ""): Record<string, string> {
  const out: Record<string, string> = {};
  if (o && typeof o === "object" && !Array.isArray(o)) {
    for (const [k, v] of Object.entries(o)) Object.assign(out, flatten(v, prefix ? `${prefix}.${k}` : k));
  } else {
    out[prefix] = JSON.stringify(o);
  }
  return out;
}

export function Compare() {
  const [sp] = useSearchParams();
  const a = sp.get("a") ?? "";
  const b = sp.get("b") ?? "";
  const qa = useRun(a);
  const qb = useRun(b);
  if (!a || !b) {
    return (
      <div className="page">
        <PageTitle>Compare</PageTitle>
        <Empty>
          Pick two backtests on the <Link to="/backtests">Backtests</Link> page.
        </Empty>
      </div>
    );
  }
  const ra = qa.data;
  const rb = qb.data;
  const keysA = metricRows(ra?.metrics);
  const keysB = metricRows(rb?.metrics);
  const specs = [...keysA.map(([s]) => s), ...keysB.map(([s]) => s).filter((s) => !keysA.some(([x]) => x.key === s.key))];
  const reqA = flatten(ra?.request ?? {});
  const reqB = flatten(rb?.request ?? {});
  const diff = [...new Set([...Object.keys(reqA), ...Object.keys(reqB)])].filter((k) => k !== "backtest_id" && reqA[k] !== reqB[k]).sort();
  return (
    <div className="page">
      <PageTitle>
        Compare {a} and {b}
      </PageTitle>
      {qa.error ? <QueryError error={qa.error} /> : null}
      {qb.error ? <QueryError error={qb.error} /> : null}
      <Section title="Metrics">
        <table className="table metrics-table" data-testid="compare-metrics">
          <thead>
            <tr>
              <th>Metric</th>
              <th className="num">
                <Link to={`/backtests/${encodeURIComponent(a)}`}>{a}</Link> {ra ? <Status value={ra.status} /> : null}
              </th>
              <th className="num">
                <Link to={`/backtests/${encodeURIComponent(b)}`}>{b}</Link> {rb ? <Status value={rb.status} /> : null}
              </th>
            </tr>
          </thead>
          <tbody>
            {specs.map((s) => {
              const va = ra?.metrics?.[s.key];
              const vb = rb?.metrics?.[s.key];
              const w = better(s, va, vb);
              return (
                <tr key={s.key}>
                  <td>{s.label}</td>
                  <td className={`num ${w === "a" ? "better" : ""}`}>{formatMetric(s, va)}</td>
                  <td className={`num ${w === "b" ? "better" : ""}`}>{formatMetric(s, vb)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </Section>
      <Section title="What differs">
        {diff.length ? (
          <table className="table dense">
            <tbody>
              {diff.map((k) => (
                <tr key={k}>
                  <td>
                    <code>{k}</code>
                  </td>
                  <td>
                    <code>{reqA[k] ?? "—"}</code>
                  </td>
                  <td>
                    <code>{reqB[k] ?? "—"}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : (
          <div className="muted">The two requests are the same.</div>
        )}
      </Section>
      <div className="compare">
        <Section title={a}>{ra ? <EquityCharts b={ra} height={180} /> : <div className="muted">Loading…</div>}</Section>
        <Section title={b}>{rb ? <EquityCharts b={rb} height={180} /> : <div className="muted">Loading…</div>}</Section>
      </div>
    </div>
  );
}
