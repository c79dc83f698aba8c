import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useMemo, useState } from "react";
import { Link } from "react-router";

import { api } from "../api/client";
import { useApiQuery, usePage } from "../api/hooks";
import { keys } from "../api/keys";
import type { BreakerStatus, ControlAnswer, HubStatus, Pnl, Strategy, StrategyAck } from "../api/types";
import { useUser } from "../auth/AuthContext";
import { can } from "../auth/roles";
import { LineChart } from "../components/Charts";
import { ConfirmDialog } from "../components/ConfirmDialog";
import { PageTitle, QueryError, QueryState, Section } from "../components/States";
import { Money, Status, Time, WorkflowLink } from "../components/Values";
import { totalEquityCurve } from "../lib/equity";
import { formatMoney, subtractDecimals } from "../lib/money";

export type KillAction = "halt" | "reduce" | "flatten" | "resume";

/** What each kill-switch button does, exactly as the API does it. */
export const KILL_SWITCH: Record<KillAction, { label: string; title: string; text: string; path: string; body: Record<string, unknown>; danger: boolean }> = {
  halt: {
    label: "Halt all",
    title: "Halt all strategies",
    text: "Halt all: every strategy halts and its open orders are cancelled; positions stay open. No order can be placed anywhere until you resume.",
    path: "/halt",
    body: { cancel_open_orders: true, flatten: false, reduce_only: false, wait: "all" },
    danger: true,
  },
  reduce: {
    label: "Reduce only",
    title: "Reduce only",
    text: "Reduce only: open orders are cancelled and from now on only orders that reduce a position pass; nothing opens or adds to a position. Positions stay open.",
    path: "/halt",
    body: { cancel_open_orders: true, flatten: false, reduce_only: true, wait: "all" },
    danger: true,
  },
  flatten: {
    label: "Flatten",
    title: "Flatten everything",
    text: "Flatten: every strategy halts, open orders are cancelled and every position is closed at market.",
    path: "/halt",
    body: { cancel_open_orders: true, flatten: true, reduce_only: false, wait: "all" },
    danger: true,
  },
  resume: {
    label: "Resume",
    title: "Resume trading",
    text: "Resume: the global gate reopens and orders may be placed again; strategies that are not halted on their own resume their cycles.",
    path: "/resume",
    body: { wait: "all" },
    danger: false,
  },
};

export function AckList({ acks }: { acks: StrategyAck[] }) {
  if (!acks.length) return <div className="muted">No strategy to acknowledge.</div>;
  return (
    <ul className="ack-list">
      {acks.map((a) => (
        <li key={a.strategy_id} data-testid={`ack-${a.strategy_id}`} className={`ack ack-${a.state}`}>
          <strong>{a.strategy_id}</strong> <Status value={a.state} />
          {a.at ? (
            <>
              {" "}
              at <Time value={a.at} />
            </>
          ) : null}
          {a.cancelled ? <span> · {a.cancelled} order(s) cancelled</span> : null}
          {a.flattened.length ? <span> · flattened {a.flattened.join(", ")}</span> : null}
          {a.detail ? <span className="muted"> · {a.detail}</span> : null}
        </li>
      ))}
    </ul>
  );
}

function ControlResult({ answer }: { answer: ControlAnswer }) {
  return (
    <div className="control-result" data-testid="control-result">
      <div>
        Gate <Status value={answer.state} /> in {answer.gate_latency_ms.toFixed(1)} ms, by {answer.actor}: {answer.reason}
      </div>
      {answer.note ? <div className="notice">{answer.note}</div> : null}
      {answer.unacknowledged_strategies.length ? (
        <div className="warn">Not acknowledged: {answer.unacknowledged_strategies.join(", ")}</div>
      ) : null}
      {answer.cancelled_orders.length ? <div>Cancelled orders: {answer.cancelled_orders.length}</div> : null}
      {Object.keys(answer.cancel_failures).length ? (
        <div className="warn">
          Cancel failures:{" "}
          {Object.entries(answer.cancel_failures)
            .map(([k, v]) => `${k}: ${v}`)
            .join("; ")}
        </div>
      ) : null}
      <AckList acks={answer.strategies} />
    </div>
  );
}

export function BreakerBar({ b }: { b: BreakerStatus }) {
  const value = Math.abs(Number(b.value));
  const limit = Math.abs(Number(b.limit));
  const used = limit > 0 && Number.isFinite(value) ? Math.min(1, value / limit) : 0;
  const level = b.tripped ? "tripped" : used > 0.8 ? "hot" : used > 0.5 ? "warm" : "ok";
  return (
    <div className={`breaker ${level} ${b.armed ? "" : "disarmed"}`} title={b.detail}>
      <div className="breaker-head">
        <span className="breaker-name">{b.name}</span>
        <span className="num">
          {formatMoney(b.value, { maxDp: 4, minDp: 0 })} / {formatMoney(b.limit, { maxDp: 4, minDp: 0 })}
          {b.tripped ? " · TRIPPED" : ` · headroom ${formatMoney(b.headroom, { maxDp: 4, minDp: 0 })}`}
          {b.armed ? "" : " · not armed"}
        </span>
      </div>
      <div className="bar" aria-label={`${b.name} headroom`} role="meter" aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.round((1 - used) * 100)}>
        <div className="bar-fill" style={{ width: `${Math.round(used * 100)}%` }} />
      </div>
    </div>
  );
}

function KillSwitch() {
  const qc = useQueryClient();
  const [action, setAction] = useState<KillAction | null>(null);
  const [reason, setReason] = useState("");
  const [answer, setAnswer] = useState<ControlAnswer | null>(null);
  const m = useMutation({
    mutationFn: (a: KillAction) => api<ControlAnswer>(KILL_SWITCH[a].path, { method: "POST", body: { ...KILL_SWITCH[a].body, reason: reason.trim() } }),
    onSuccess: (data) => {
      setAnswer(data);
      setAction(null);
      setReason("");
      void qc.invalidateQueries({ queryKey: keys.neurohub() });
      void qc.invalidateQueries({ queryKey: keys.strategies() });
    },
  });
  const spec = action ? KILL_SWITCH[action] : null;
  return (
    <div className="killswitch">
      <div className="btn-row">
        <button type="button" className="btn btn-danger" data-testid="killswitch-halt" onClick={() => setAction("halt")}>
          Halt all
        </button>
        <button type="button" className="btn btn-warn" data-testid="killswitch-reduce" onClick={() => setAction("reduce")}>
          Reduce only
        </button>
        <button type="button" className="btn btn-danger" data-testid="killswitch-flatten" onClick={() => setAction("flatten")}>
          Flatten
        </button>
        <button type="button" className="btn btn-primary" data-testid="killswitch-resume" onClick={() => setAction("resume")}>
          Resume
        </button>
      </div>
      {spec && action ? (
        <ConfirmDialog
          title={spec.title}
          confirmLabel={spec.label}
          danger={spec.danger}
          busy={m.isPending}
          disabled={!reason.trim()}
          onCancel={() => {
            setAction(null);
            m.reset();
          }}
          onConfirm={() => m.mutate(action)}
        >
          <p className="confirm-text" data-testid="confirm-text">
            {spec.text}
          </p>
          <div className="field">
            <label htmlFor="ks-reason">Reason (recorded with your name)</label>
            <input id="ks-reason" data-testid="confirm-reason" value={reason} maxLength={500} onChange={(e) => setReason(e.target.value)} autoFocus />
          </div>
        </ConfirmDialog>
      ) : null}
      {answer ? <ControlResult answer={answer} /> : null}
    </div>
  );
}

interface Row {
  id: string;
  name: string;
  status: string;
  equity: string | null;
  exposure: string | null;
  today: string | null;
  breakers: BreakerStatus[];
  workflow_id: string;
}

function rows(strategies: Strategy[], hub: HubStatus | undefined): Row[] {
  const entries = new Map((hub?.strategies ?? []).map((e) => [e.strategy_id, e]));
  const out: Row[] = strategies.map((s) => {
    const e = entries.get(s.id);
    const rep = e?.last_report ?? null;
    return {
      id: s.id,
      name: s.name,
      status: s.status,
      equity: rep?.equity ?? null,
      exposure: rep?.exposure ?? null,
      today: rep && e?.day_start_equity ? subtractDecimals(rep.equity, e.day_start_equity) : null,
      breakers: e?.readings ?? [],
      workflow_id: s.workflow_id,
    };
  });
  for (const e of hub?.strategies ?? []) {
    if (strategies.some((s) => s.id === e.strategy_id)) continue;
    out.push({
      id: e.strategy_id,
      name: e.name,
      status: e.status,
      equity: e.last_report?.equity ?? null,
      exposure: e.last_report?.exposure ?? null,
      today: e.last_report && e.day_start_equity ? subtractDecimals(e.last_report.equity, e.day_start_equity) : null,
      breakers: e.readings,
      workflow_id: e.workflow_id,
    });
  }
  return out;
}

export function Desk() {
  const user = useUser();
  const hub = useApiQuery<HubStatus>(keys.neurohub(), "/neurohub");
  const strategies = usePage<Strategy>(keys.strategies(), "/strategies");
  const pnl = usePage<Pnl>(keys.pnl({ limit: 5000 }), "/pnl", { query: { limit: 5000 } });
  const curve = useMemo(() => totalEquityCurve(pnl.data?.data ?? []), [pnl.data]);
  const table = useMemo(() => rows(strategies.data?.data ?? [], hub.data), [strategies.data, hub.data]);

  return (
    <div className="page desk">
      <PageTitle>Desk</PageTitle>
      <div className="grid-2">
        <Section title="NeuroHub">
          {hub.isPending ? (
            <div className="muted">Asking NeuroHub…</div>
          ) : hub.error && !hub.data ? (
            <QueryError error={hub.error} retry={() => void hub.refetch()} />
          ) : hub.data ? (
            <div className="hub">
              <div className="hub-line">
                <span className={`hub-state hub-${hub.data.state}`} data-testid="hub-state">
                  {hub.data.state}
                </span>
                <span className="muted">
                  {hub.data.reason ? `${hub.data.reason}` : "no reason recorded"}
                  {hub.data.actor ? ` · by ${hub.data.actor}` : ""}
                  {hub.data.since ? (
                    <>
                      {" "}
                      · since <Time value={hub.data.since} />
                    </>
                  ) : null}
                </span>
              </div>
              <dl className="kv">
                <dt>Equity</dt>
                <dd>
                  <Money value={hub.data.equity} />
                </dd>
                <dt>Exposure</dt>
                <dd>
                  <Money value={hub.data.exposure} />
                </dd>
                <dt>Today</dt>
                <dd>
                  <Money value={hub.data.daily_pnl} signed />
                </dd>
                <dt>Workflow</dt>
                <dd>
                  <WorkflowLink id={hub.data.hub_id} />
                </dd>
              </dl>
              {can(user, "killswitch") ? <KillSwitch /> : null}
            </div>
          ) : null}
        </Section>
        <Section title="Breakers (account)">
          {hub.data ? (
            hub.data.breakers.length ? (
              <div className="breakers">
                {hub.data.breakers.map((b) => (
                  <BreakerBar key={b.name} b={b} />
                ))}
              </div>
            ) : (
              <div className="muted">No account-wide breaker is set.</div>
            )
          ) : (
            <div className="muted">—</div>
          )}
        </Section>
      </div>
      <Section title="Total equity">
        <QueryState q={pnl} what="PnL" empty="No PnL snapshot yet: strategies record one per cycle.">
          {() => <LineChart points={curve} area testId="total-equity-chart" label="total equity" />}
        </QueryState>
      </Section>
      <Section title="Strategies">
        <QueryState q={strategies} what="strategies" empty={<>No strategy yet. Start one on the <Link to="/strategies">Strategies</Link> page.</>}>
          {() => (
            <div className="table-wrap">
              <table className="table" data-testid="desk-strategies">
                <thead>
                  <tr>
                    <th>Strategy</th>
                    <th>Status</th>
                    <th className="num">Equity</th>
                    <th className="num">Exposure</th>
                    <th className="num">Today</th>
                    <th>Breakers</th>
                  </tr>
                </thead>
                <tbody>
                  {table.map((r) => (
                    <tr key={r.id} data-testid={`desk-strategy-${r.id}`}>
                      <td>
                        <Link to={`/strategies/${encodeURIComponent(r.id)}`}>{r.name || r.id}</Link> <span className="muted">{r.id}</span>
                      </td>
                      <td>
                        <Status value={r.status} testId={`desk-status-${r.id}`} />
                        {hub.data && hub.data.state !== "active" && r.status === "running" ? (
                          <span className="muted" title="the global gate (kill switch) holds every strategy">
                            {" "}
                            · gate {hub.data.state}
                          </span>
                        ) : null}
                      </td>
                      <td className="num">
                        <Money value={r.equity} />
                      </td>
                      <td className="num">
                        <Money value={r.exposure} />
                      </td>
                      <td className="num">
                        <Money value={r.today} signed />
                      </td>
                      <td className="breakers-cell">
                        {r.breakers.length ? r.breakers.map((b) => <BreakerBar key={b.name} b={b} />) : <span className="muted">none</span>}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </QueryState>
      </Section>
    </div>
  );
}
