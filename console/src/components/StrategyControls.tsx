import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useMemo, useState } from "react";

import { api } from "../api/client";
import { formErrors, mapFieldErrors } from "../api/errors";
import { useApiQuery } from "../api/hooks";
import { keys } from "../api/keys";
import type { Page, StatusChange, Strategy, StrategyType } from "../api/types";
import { useUser } from "../auth/AuthContext";
import { can } from "../auth/roles";
import { collect, fieldsFromSchema, type FormValues, initialValues } from "../lib/schemaForm";
import { ConfirmDialog, Modal } from "./ConfirmDialog";
import { Field, FormErrors } from "./Field";
import { Status, Time } from "./Values";

type Change = "halt" | "resume" | "stop";

function describe(change: Change, id: string, flatten: boolean, cancel: boolean): string {
  switch (change) {
    case "halt":
      return `Halt ${id}: its order gate closes at once (no order of it can be placed after)${cancel ? ", its open orders are cancelled" : ", its open orders stay"}${flatten ? " and its positions are closed at market" : "; its positions stay open"}. Resume restarts its cycles.`;
    case "resume":
      return `Resume ${id}: its order gate reopens and its cycles run again (unless the global kill switch is on).`;
    case "stop":
      return `Stop ${id}: the strategy ends for good (its workflow finishes) and cannot be resumed; start a new one to trade again.`;
  }
}

/** Halt, resume and stop buttons of one strategy (only those the user may use), with confirmation. */
export function StrategyControls({ s, compact }: { s: Strategy; compact?: boolean }) {
  const user = useUser();
  const qc = useQueryClient();
  const [change, setChange] = useState<Change | null>(null);
  const [reason, setReason] = useState("");
  const [flatten, setFlatten] = useState(false);
  const [cancel, setCancel] = useState(true);
  const [result, setResult] = useState<StatusChange | null>(null);
  const m = useMutation({
    mutationFn: (c: Change) =>
      api<StatusChange>(`/strategies/${encodeURIComponent(s.id)}/${c}`, {
        method: "POST",
        body: c === "stop" ? (reason.trim() ? { reason: reason.trim() } : {}) : { reason: reason.trim() || "manual", ...(c === "halt" ? { flatten, cancel_open_orders: cancel } : {}) },
      }),
    onSuccess: (data) => {
      setResult(data);
      setChange(null);
      setReason("");
      // the answer says the new status at once; the list catches up
      qc.setQueryData<Page<Strategy>>(keys.strategies(), (old) =>
        old ? { ...old, data: old.data.map((x) => (x.id === s.id ? { ...x, status: data.status } : x)) } : old,
      );
      qc.setQueryData<Strategy>(keys.strategy(s.id), (old) => (old ? { ...old, status: data.status } : old));
      void qc.invalidateQueries({ queryKey: keys.strategies() });
      void qc.invalidateQueries({ queryKey: keys.strategy(s.id) });
      void qc.invalidateQueries({ queryKey: keys.neurohub() });
    },
  });
  const ctx = { owner: s.created_by };
  const stopped = s.status === "stopped";
  const canHalt = can(user, "strategy.halt", ctx) && s.status === "running";
  const canResume = can(user, "strategy.resume", ctx) && s.status === "halted";
  const canStop = can(user, "strategy.stop", ctx) && !stopped;
  if (!canHalt && !canResume && !canStop && !result) return null;
  const small = compact ? "btn-small" : "";
  return (
    <span className="controls" onClick={(e) => e.stopPropagation()}>
      {canHalt ? (
        <button type="button" className={`btn btn-warn ${small}`} data-testid={`halt-${s.id}`} onClick={() => setChange("halt")}>
          Halt
        </button>
      ) : null}
      {canResume ? (
        <button type="button" className={`btn btn-primary ${small}`} data-testid={`resume-${s.id}`} onClick={() => setChange("resume")}>
          Resume
        </button>
      ) : null}
      {canStop ? (
        <button type="button" className={`btn btn-danger ${small}`} data-testid={`stop-${s.id}`} onClick={() => setChange("stop")}>
          Stop
        </button>
      ) : null}
      {result?.ack ? (
        <span className="ack-inline" data-testid={`ack-${s.id}`}>
          {result.status} · ack <Status value={result.ack.state} />
          {result.ack.cancelled ? ` · ${result.ack.cancelled} cancelled` : ""}
        </span>
      ) : result ? (
        <span className="ack-inline muted" data-testid={`ack-${s.id}`}>
          {result.status} at <Time value={result.at} />
        </span>
      ) : null}
      {change ? (
        <ConfirmDialog
          title={`${change[0].toUpperCase()}${change.slice(1)} ${s.name || s.id}`}
          confirmLabel={change[0].toUpperCase() + change.slice(1)}
          danger={change !== "resume"}
          busy={m.isPending}
          onCancel={() => setChange(null)}
          onConfirm={() => m.mutate(change)}
        >
          <p className="confirm-text" data-testid="confirm-text">
            {describe(change, s.id, flatten, cancel)}
          </p>
          {change === "halt" ? (
            <div className="checks">
              <label>
                <input type="checkbox" checked={cancel} onChange={(e) => setCancel(e.target.checked)} data-testid="confirm-cancel-orders" /> cancel open orders
              </label>
              <label>
                <input type="checkbox" checked={flatten} onChange={(e) => setFlatten(e.target.checked)} data-testid="confirm-flatten" /> close positions at market
              </label>
            </div>
          ) : null}
          <div className="field">
            <label htmlFor={`reason-${s.id}`}>Reason</label>
            <input id={`reason-${s.id}`} data-testid="confirm-reason" value={reason} maxLength={500} onChange={(e) => setReason(e.target.value)} />
          </div>
        </ConfirmDialog>
      ) : null}
    </span>
  );
}

/** Change a strategy's parameters (PATCH /strategies/{id}/params): the full new set. */
export function ParamsDialog({ s, onClose }: { s: Strategy; onClose: () => void }) {
  const qc = useQueryClient();
  const types = useApiQuery<{ data: StrategyType[] }>(keys.strategyTypes(), "/strategy-types", { poll: false, staleTime: 60_000 });
  const kind = types.data?.data.find((t) => t.name === s.type);
  const fields = useMemo(() => fieldsFromSchema(kind?.params_schema), [kind]);
  const [values, setValues] = useState<FormValues | null>(null);
  const current = values ?? (kind ? initialValues(fields, { ...kind.defaults, ...s.params }) : null);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState<string[]>([]);
  const m = useMutation({
    mutationFn: (params: Record<string, unknown>) => api<Strategy>(`/strategies/${encodeURIComponent(s.id)}/params`, { method: "PATCH", body: { params } }),
    meta: { banner: false },
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: keys.strategies() });
      void qc.invalidateQueries({ queryKey: keys.strategy(s.id) });
      onClose();
    },
    onError: (e) => {
      const mapped = mapFieldErrors(e, { fields: [], params: fields.map((f) => f.name) });
      setErrors(mapped.fields);
      setFormError(formErrors(e, mapped));
    },
  });
  return (
    <Modal title={`Parameters of ${s.name || s.id}`} onClose={onClose}>
      {!current ? (
        <div className="muted">{types.isPending ? "Loading the type…" : `Type ${s.type} is not loaded by the API.`}</div>
      ) : (
        <form
          className="form"
          data-testid="params-form"
          noValidate
          onSubmit={(e) => {
            e.preventDefault();
            const c = collect(fields, current);
            setErrors(c.errors);
            setFormError([]);
            if (!Object.keys(c.errors).length) m.mutate(c.values);
          }}
        >
          <p className="muted">From its next cycle on, {s.id} trades with these parameters (validated by the code version it runs).</p>
          <FormErrors reasons={formError} />
          <div className="form-grid">
            {fields.map((f) => (
              <Field
                key={f.name}
                spec={f}
                value={current[f.name]}
                error={errors[f.name]}
                onChange={(v) => {
                  setValues({ ...current, [f.name]: v });
                  setErrors(({ [f.name]: _x, ...rest }) => rest);
                }}
              />
            ))}
          </div>
          <div className="form-actions">
            <button type="button" className="btn" onClick={onClose}>
              Cancel
            </button>
            <button type="submit" className="btn btn-primary" data-testid="params-submit" disabled={m.isPending}>
              {m.isPending ? "Saving…" : "Apply"}
            </button>
          </div>
        </form>
      )}
    </Modal>
  );
}
