import { createColumnHelper } from "@tanstack/react-table";
import { useMemo, useState } from "react";

import { usePage } from "../api/hooks";
import { keys } from "../api/keys";
import type { EventRow } from "../api/types";
import { DataTable } from "../components/DataTable";
import { PageTitle, QueryState, Section } from "../components/States";
import { Status, StrategyLink, Time } from "../components/Values";
import { localInputToIso } from "../lib/time";

/** Kinds the API records (activities: status, control, approvals, risk, reconcile, strategy_code). */
export const EVENT_KINDS: { kind: string; label: string }[] = [
  { kind: "kill_switch", label: "kill switch (global halt)" },
  { kind: "reduce_only", label: "reduce only" },
  { kind: "resume", label: "resume" },
  { kind: "halt", label: "strategy halt" },
  { kind: "stop", label: "strategy stop" },
  { kind: "approval_requested", label: "approval requested" },
  { kind: "approval_approved", label: "approval approved" },
  { kind: "approval_rejected", label: "approval rejected" },
  { kind: "approval_expired", label: "approval expired" },
  { kind: "risk_rejected", label: "risk rejection" },
  { kind: "size_rejected", label: "size rejection" },
  { kind: "reconcile_mismatch", label: "reconcile mismatch" },
  { kind: "code_upgraded", label: "code upgraded" },
];

export function actorOf(e: EventRow): string {
  const a = e.data?.actor ?? e.data?.decided_by;
  return typeof a === "string" ? a : "";
}

/** Breaker trips are halts (or reduce-only) whose actor is "breaker:<name>". */
export function isBreakerTrip(e: EventRow): boolean {
  return actorOf(e).startsWith("breaker:");
}

export interface EventFilter {
  actor: string;
  since?: string;
  until?: string;
  breakersOnly: boolean;
}

export function filterEvents(events: EventRow[], f: EventFilter): EventRow[] {
  const since = f.since ? Date.parse(f.since) : null;
  const until = f.until ? Date.parse(f.until) : null;
  const actor = f.actor.trim().toLowerCase();
  return events.filter((e) => {
    const t = Date.parse(e.created_at);
    if (since !== null && t < since) return false;
    if (until !== null && t > until) return false;
    if (actor && !actorOf(e).toLowerCase().includes(actor)) return false;
    if (f.breakersOnly && !isBreakerTrip(e)) return false;
    return true;
  });
}

const col = createColumnHelper<EventRow>();

export function Events() {
  const [kind, setKind] = useState("");
  const [strategy, setStrategy] = useState("");
  const [actor, setActor] = useState("");
  const [since, setSince] = useState("");
  const [until, setUntil] = useState("");
  const [breakersOnly, setBreakersOnly] = useState(false);
  const query = { kind: kind || undefined, strategy_id: strategy.trim() || undefined, limit: 1000 };
  const q = usePage<EventRow>(keys.events(query), "/events", { query });
  const rows = useMemo(
    () => filterEvents(q.data?.data ?? [], { actor, since: localInputToIso(since), until: localInputToIso(until), breakersOnly }),
    [q.data, actor, since, until, breakersOnly],
  );
  const columns = useMemo(
    () => [
      col.accessor("created_at", { header: "When", cell: (c) => <Time value={c.getValue()} /> }),
      col.accessor("kind", {
        header: "Kind",
        cell: (c) => (
          <>
            <Status value={c.getValue()} />
            {isBreakerTrip(c.row.original) ? <span className="warn"> breaker trip</span> : null}
          </>
        ),
      }),
      col.accessor((e) => actorOf(e), { id: "actor", header: "Who" }),
      col.accessor("strategy_id", { header: "Strategy", cell: (c) => <StrategyLink id={c.getValue()} /> }),
      col.accessor("cycle", { header: "Cycle", cell: (c) => c.getValue() ?? "—" }),
      col.accessor("symbol", { header: "Symbol", cell: (c) => c.getValue() ?? "—" }),
      col.accessor("reason", { header: "Reason", cell: (c) => <span className="clip">{c.getValue()}</span>, enableSorting: false }),
    ],
    [],
  );
  const [open, setOpen] = useState<EventRow | null>(null);
  return (
    <div className="page">
      <PageTitle>Events and audit</PageTitle>
      <Section title="Filter">
        <div className="filters">
          <div className="field">
            <label htmlFor="ev-kind">Kind</label>
            <select id="ev-kind" data-testid="event-filter-kind" value={kind} onChange={(e) => setKind(e.target.value)}>
              <option value="">all kinds</option>
              {EVENT_KINDS.map((k) => (
                <option key={k.kind} value={k.kind}>
                  {k.label}
                </option>
              ))}
            </select>
          </div>
          <div className="field">
            <label htmlFor="ev-strategy">Strategy id</label>
            <input id="ev-strategy" data-testid="event-filter-strategy" value={strategy} onChange={(e) => setStrategy(e.target.value)} placeholder="s1a2b3c4" />
          </div>
          <div className="field">
            <label htmlFor="ev-actor">Who</label>
            <input id="ev-actor" data-testid="event-filter-actor" value={actor} onChange={(e) => setActor(e.target.value)} placeholder="user, key:…, breaker:…" />
          </div>
          <div className="field">
            <label htmlFor="ev-since">From (UTC)</label>
            <input id="ev-since" type="datetime-local" data-testid="event-filter-since" value={since} onChange={(e) => setSince(e.target.value)} />
          </div>
          <div className="field">
            <label htmlFor="ev-until">To (UTC)</label>
            <input id="ev-until" type="datetime-local" data-testid="event-filter-until" value={until} onChange={(e) => setUntil(e.target.value)} />
          </div>
          <label className="checks">
            <input type="checkbox" checked={breakersOnly} onChange={(e) => setBreakersOnly(e.target.checked)} data-testid="event-filter-breakers" /> breaker trips only
          </label>
        </div>
      </Section>
      <Section title={q.data ? `${rows.length} event${rows.length === 1 ? "" : "s"}` : "Events"}>
        <QueryState q={q} what="events" empty="No event recorded.">
          {() => (
            <DataTable
              data={rows}
              columns={columns}
              testId="events-table"
              rowTestId={(e) => `event-row-${e.kind}-${e.created_at}`}
              empty="No event matches the filter."
              onRowClick={(e) => setOpen(open === e ? null : e)}
              expanded={(e) => (e === open ? <pre className="json">{JSON.stringify(e.data, null, 2)}</pre> : null)}
              dense
            />
          )}
        </QueryState>
      </Section>
    </div>
  );
}
