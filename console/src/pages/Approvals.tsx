import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useMemo, useState } from "react";

import { api } from "../api/client";
import { useInfo, usePage } from "../api/hooks";
import { keys } from "../api/keys";
import type { Approval, ApprovalOutcome, Strategy } from "../api/types";
import { useUser } from "../auth/AuthContext";
import { can, fourEyesBlocks, hasRole } from "../auth/roles";
import { PageTitle, QueryState, Section } from "../components/States";
import { Money, Price, Qty, Side, Status, StrategyLink, Time, WorkflowLink } from "../components/Values";
import { timeLeft } from "../lib/time";
import { useNow } from "../lib/useNow";

export function Countdown({ expiresAt, now }: { expiresAt: string; now: number }) {
  const t = timeLeft(expiresAt, now);
  return (
    <span className={`countdown ${t.urgent ? "urgent" : ""} ${t.expired ? "expired" : ""}`} title={expiresAt}>
      {t.text}
    </span>
  );
}

/** The order's own cells, symbol to notional: the same in the pending and the decided lists. */
function OrderCells({ a, notionalTestId }: { a: Approval; notionalTestId?: string }) {
  return (
    <>
      <td>{a.symbol}</td>
      <td>
        <Side value={a.side} />
      </td>
      <td className="num">
        <Qty value={a.qty} />
      </td>
      <td className="num">
        <Price value={a.price} />
      </td>
      <td className="num" data-testid={notionalTestId}>
        <Money value={a.notional} />
      </td>
    </>
  );
}

/** A pending approval's two buttons: the decision each sends. */
const DECISIONS = [
  { decision: "approve", label: "Approve", className: "btn-primary" },
  { decision: "reject", label: "Reject", className: "btn-danger" },
] as const;

function ApprovalRow({ a, owner, now, decided, onDecided }: { a: Approval; owner: string; now: number; decided?: ApprovalOutcome; onDecided: (a: Approval, o: ApprovalOutcome) => void }) {
  const user = useUser();
  const info = useInfo();
  const qc = useQueryClient();
  const fourEyes = info.data?.four_eyes ?? true;
  const [reason, setReason] = useState("");
  const [mine, setOutcome] = useState<ApprovalOutcome | null>(null);
  const outcome = mine ?? decided ?? null;
  const m = useMutation({
    mutationFn: (decision: "approve" | "reject") =>
      api<ApprovalOutcome>(`/approvals/${encodeURIComponent(a.id)}`, { method: "POST", body: { decision, reason: reason.trim() } }),
    onSuccess: (o) => {
      setOutcome(o);
      onDecided(a, o);
      void qc.invalidateQueries({ queryKey: ["approvals"] });
    },
  });
  const isRisk = hasRole(user, "risk");
  const blocked = fourEyesBlocks(user, owner, fourEyes);
  const expired = timeLeft(a.expires_at, now).expired;
  const mayDecide = can(user, "approval.decide", { owner, fourEyes });
  return (
    <tr data-testid={`approval-row-${a.id}`}>
      <td>
        <Time value={a.requested_at} />
      </td>
      <td>
        <StrategyLink id={a.strategy_id} />
        <div className="muted">
          by {owner || "?"} · <WorkflowLink id={a.workflow_id} label={`cycle ${a.cycle}`} />
        </div>
      </td>
      <OrderCells a={a} notionalTestId={`approval-notional-${a.id}`} />
      <td className="num" data-testid={`approval-timeleft-${a.id}`}>
        {outcome ? <span className="muted">—</span> : <Countdown expiresAt={a.expires_at} now={now} />}
      </td>
      <td>
        {outcome ? (
          <span>
            <Status value={outcome.status} /> by {outcome.decided_by}
          </span>
        ) : isRisk ? (
          <div className="approval-actions">
            <input
              data-testid={`approval-reason-${a.id}`}
              placeholder="reason"
              value={reason}
              maxLength={500}
              onChange={(e) => setReason(e.target.value)}
              aria-label={`reason for ${a.id}`}
              disabled={blocked}
            />
            {DECISIONS.map((d) => (
              <button
                key={d.decision}
                type="button"
                className={`btn btn-small ${d.className}`}
                data-testid={`${d.decision}-${a.id}`}
                disabled={!mayDecide || blocked || expired || m.isPending}
                onClick={() => m.mutate(d.decision)}
              >
                {d.label}
              </button>
            ))}
          </div>
        ) : null}
        {blocked && !outcome ? (
          <div className="four-eyes" data-testid={`four-eyes-${a.id}`}>
            You started this strategy: another risk user must approve.
          </div>
        ) : null}
      </td>
    </tr>
  );
}

const DECIDED = ["approved", "rejected", "expired"] as const;

export function Approvals() {
  const now = useNow(1000);
  const [status, setStatus] = useState<"pending" | (typeof DECIDED)[number]>("pending");
  const list = usePage<Approval>(keys.approvals({ status }), "/approvals", { query: { status, limit: 500 } });
  const strategies = usePage<Strategy>(keys.strategies(), "/strategies");
  const owners = useMemo(() => new Map((strategies.data?.data ?? []).map((s) => [s.id, s.created_by])), [strategies.data]);
  // Decided here: kept on screen with their outcome after they leave the pending list.
  const [decided, setDecided] = useState<Record<string, { a: Approval; o: ApprovalOutcome }>>({});
  const onDecided = (a: Approval, o: ApprovalOutcome) => setDecided((d) => ({ ...d, [a.id]: { a, o } }));
  return (
    <div className="page">
      <PageTitle
        actions={
          <select value={status} onChange={(e) => setStatus(e.target.value as typeof status)} aria-label="status" data-testid="approval-status-filter">
            <option value="pending">pending</option>
            {DECIDED.map((d) => (
              <option key={d}>{d}</option>
            ))}
          </select>
        }
      >
        Approvals
      </PageTitle>
      <Section title={status === "pending" ? "Orders waiting for approval" : `Orders ${status}`}>
        <QueryState
          q={list}
          what="approvals"
          isEmpty={(d) => d.data.length === 0 && (status !== "pending" || Object.keys(decided).length === 0)}
          empty={status === "pending" ? "No order is waiting for approval." : `No ${status} approval.`}
        >
          {(d) => (
            <div className="table-wrap">
              <table className="table" data-testid="approvals-table">
                <thead>
                  <tr>
                    <th>Requested</th>
                    <th>Strategy</th>
                    <th>Symbol</th>
                    <th>Side</th>
                    <th className="num">Qty</th>
                    <th className="num">Price</th>
                    <th className="num">Notional</th>
                    <th className="num">{status === "pending" ? "Time left" : "Expired at"}</th>
                    <th>{status === "pending" ? "Decision" : "Decided"}</th>
                  </tr>
                </thead>
                <tbody>
                  {status === "pending"
                    ? [
                        ...d.data.map((a) => (
                          <ApprovalRow key={a.id} a={a} owner={owners.get(a.strategy_id) ?? ""} now={now} decided={decided[a.id]?.o} onDecided={onDecided} />
                        )),
                        ...Object.values(decided)
                          .filter((x) => !d.data.some((a) => a.id === x.a.id))
                          .map((x) => (
                            <ApprovalRow key={x.a.id} a={x.a} owner={owners.get(x.a.strategy_id) ?? ""} now={now} decided={x.o} onDecided={onDecided} />
                          )),
                      ]
                    : d.data.map((a) => (
                        <tr key={a.id} data-testid={`approval-row-${a.id}`}>
                          <td>
                            <Time value={a.requested_at} />
                          </td>
                          <td>
                            <StrategyLink id={a.strategy_id} />
                          </td>
                          <OrderCells a={a} />
                          <td className="num">
                            <Time value={a.expires_at} />
                          </td>
                          <td>
                            <Status value={a.status} /> {a.decided_by ? `by ${a.decided_by}` : ""} {a.decided_at ? <Time value={a.decided_at} /> : null}
                            {a.reason ? <div className="muted">{a.reason}</div> : null}
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
