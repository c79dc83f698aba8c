import { createColumnHelper } from "@tanstack/react-table";
import { useMemo, useState } from "react";
import { Link, useNavigate } from "react-router";

import { useApiQuery, usePage } from "../api/hooks";
import { keys } from "../api/keys";
import type { Strategy, StrategyType } from "../api/types";
import { useUser } from "../auth/AuthContext";
import { can } from "../auth/roles";
import { Modal } from "../components/ConfirmDialog";
import { DataTable } from "../components/DataTable";
import { StartStrategyForm } from "../components/StartStrategyForm";
import { PageTitle, QueryState, Section } from "../components/States";
import { ParamsDialog, StrategyControls } from "../components/StrategyControls";
import { Status, Time } from "../components/Values";
import { formatInterval } from "../lib/time";

const col = createColumnHelper<Strategy>();

export function Strategies() {
  const user = useUser();
  const navigate = useNavigate();
  const list = usePage<Strategy>(keys.strategies(), "/strategies");
  const types = useApiQuery<{ data: StrategyType[] }>(keys.strategyTypes(), "/strategy-types", { poll: false, staleTime: 60_000 });
  const [open, setOpen] = useState(false);
  const [paramsOf, setParamsOf] = useState<Strategy | null>(null);
  const [started, setStarted] = useState<string | null>(null);

  const columns = useMemo(
    () => [
      col.accessor("name", {
        header: "Strategy",
        cell: (c) => (
          <Link to={`/strategies/${encodeURIComponent(c.row.original.id)}`} onClick={(e) => e.stopPropagation()}>
            {c.getValue() || c.row.original.id}
          </Link>
        ),
      }),
      col.accessor("id", { header: "Id", cell: (c) => <code>{c.getValue()}</code> }),
      col.accessor("type", { header: "Type" }),
      col.accessor("symbols", { header: "Symbols", cell: (c) => c.getValue().join(", ") || "universe", enableSorting: false }),
      col.accessor("exchange", { header: "Venue" }),
      col.accessor("interval_s", { header: "Every", cell: (c) => formatInterval(c.getValue()) }),
      col.accessor("status", {
        header: "Status",
        cell: (c) => (
          <span title={c.row.original.status_reason}>
            <Status value={c.getValue()} testId={`strategy-status-${c.row.original.id}`} />
          </span>
        ),
      }),
      col.accessor("created_by", { header: "Owner" }),
      col.accessor("created_at", { header: "Started", cell: (c) => <Time value={c.getValue()} /> }),
      col.display({
        id: "actions",
        header: "",
        cell: (c) => (
          <span className="row-actions">
            <StrategyControls s={c.row.original} compact />
            {can(user, "strategy.params", { owner: c.row.original.created_by }) && c.row.original.status !== "stopped" ? (
              <button
                type="button"
                className="btn btn-small"
                data-testid={`params-${c.row.original.id}`}
                onClick={(e) => {
                  e.stopPropagation();
                  setParamsOf(c.row.original);
                }}
              >
                Params
              </button>
            ) : null}
          </span>
        ),
      }),
    ],
    [user],
  );

  return (
    <div className="page">
      <PageTitle
        actions={
          can(user, "strategy.start") ? (
            <button type="button" className="btn btn-primary" data-testid="start-strategy-open" onClick={() => setOpen(true)}>
              Start strategy
            </button>
          ) : null
        }
      >
        Strategies
      </PageTitle>
      {started ? (
        <div className="notice" data-testid="started-notice">
          Started <Link to={`/strategies/${encodeURIComponent(started)}`}>{started}</Link>.
        </div>
      ) : null}
      <Section title="All strategies">
        <QueryState q={list} what="strategies" empty="No strategy yet.">
          {(d) => (
            <DataTable
              data={d.data}
              columns={columns}
              testId="strategies-table"
              rowTestId={(s) => `strategy-row-${s.id}`}
              onRowClick={(s) => navigate(`/strategies/${encodeURIComponent(s.id)}`)}
              rowClass={(s) => `row-${s.status}`}
            />
          )}
        </QueryState>
      </Section>
      {open ? (
        <Modal title="Start a strategy" onClose={() => setOpen(false)} wide>
          <QueryState q={types} what="strategy types" isEmpty={(d) => d.data.length === 0} empty="The API has no strategy type loaded.">
            {(d) => (
              <StartStrategyForm
                types={d.data}
                onCancel={() => setOpen(false)}
                onStarted={(s) => {
                  setOpen(false);
                  setStarted(s.id);
                  void list.refetch();
                }}
              />
            )}
          </QueryState>
        </Modal>
      ) : null}
      {paramsOf ? <ParamsDialog s={paramsOf} onClose={() => setParamsOf(null)} /> : null}
    </div>
  );
}
