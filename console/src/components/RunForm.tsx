import { useMutation } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { useNavigate } from "react-router";

import { api } from "../api/client";
import { formErrors, mapFieldErrors } from "../api/errors";
import type { Started, StrategyType } from "../api/types";
import { DATA_FIELDS, DATA_SOURCES, type DataSource, LAST_FIELD, runCommon, SEARCH_FIELDS, SETTINGS_FIELDS, spaceFrom, type SpaceRow } from "../lib/runForm";
import { collect, type FieldSpec } from "../lib/schemaForm";
import { FormErrors } from "./Field";
import { useFormFields } from "./useFormFields";

const ALL_COMMON: FieldSpec[] = [...Object.values(DATA_FIELDS).flat(), LAST_FIELD, ...SETTINGS_FIELDS, ...SEARCH_FIELDS];

/** Submit a backtest (fixed params) or an optimisation (a search over some params). */
export function RunForm({ types, kind }: { types: StrategyType[]; kind: "backtest" | "optimization" }) {
  const navigate = useNavigate();
  const search = kind === "optimization";
  const [strategy, setStrategy] = useState(types[0]?.name ?? "");
  const type = types.find((t) => t.name === strategy);
  const [source, setSource] = useState<DataSource>("symbol");
  const { paramFields, common, params, errors, setErrors, resetParams, field } = useFormFields(ALL_COMMON, type);
  const [space, setSpace] = useState<Record<string, SpaceRow>>(() => initialSpace(paramFields));
  const [formError, setFormError] = useState<string[]>([]);
  const numeric = paramFields.filter((f) => f.kind === "integer" || f.kind === "number");

  const m = useMutation({
    mutationFn: (body: Record<string, unknown>) => api<Started>(search ? "/optimizations" : "/backtests", { method: "POST", body }),
    meta: { banner: false },
    onSuccess: (s) => navigate(search ? `/optimizations/${encodeURIComponent(s.id)}` : `/backtests/${encodeURIComponent(s.id)}`),
    onError: (e) => {
      const mapped = mapFieldErrors(e, {
        fields: ["strategy", "space", ...ALL_COMMON.map((f) => f.name), ...numeric.map((f) => `space.${f.name}`)],
        params: paramFields.map((f) => f.name),
        paramsPrefix: search ? "fixed" : "params",
      });
      setErrors(mapped.fields);
      setFormError(formErrors(e, mapped));
    },
  });

  function chooseStrategy(name: string) {
    setStrategy(name);
    const fields = resetParams(types.find((x) => x.name === name));
    setSpace(initialSpace(fields));
  }

  function submit(e: FormEvent) {
    e.preventDefault();
    setFormError([]);
    const searched = new Set(Object.entries(space).filter(([, r]) => r.on).map(([k]) => k));
    const fixedFields = search ? paramFields.filter((f) => !searched.has(f.name)) : paramFields;
    const p = collect(fixedFields, params);
    const c = runCommon(source, common, search);
    const all: Record<string, string> = { ...p.errors, ...c.errors };
    if (!strategy) all.strategy = "choose a strategy type";
    const body: Record<string, unknown> = { ...c.body, strategy };
    if (search) {
      const kinds = Object.fromEntries(numeric.map((f) => [f.name, f.kind as "integer" | "number"]));
      const sp = spaceFrom(space, kinds);
      Object.assign(all, sp.errors);
      body.space = sp.space;
      body.fixed = p.values;
    } else {
      body.params = p.values;
    }
    setErrors(all);
    if (Object.keys(all).length) return;
    m.mutate(body);
  }

  return (
    <form className="form" data-testid="backtest-form" onSubmit={submit} noValidate>
      <FormErrors reasons={formError} />
      <fieldset>
        <legend>Strategy and data</legend>
        <div className="form-grid">
          <div className={`field ${errors.strategy ? "has-error" : ""}`}>
            <label htmlFor="f-strategy">Strategy type</label>
            <select id="f-strategy" data-testid="field-strategy" value={strategy} onChange={(e) => chooseStrategy(e.target.value)}>
              {types.map((t) => (
                <option key={t.name}>{t.name}</option>
              ))}
            </select>
            {errors.strategy ? (
              <div className="field-error" data-testid="field-error-strategy">
                {errors.strategy}
              </div>
            ) : null}
          </div>
          <div className="field">
            <label htmlFor="f-source">Data from</label>
            <select id="f-source" data-testid="field-data.source" value={source} onChange={(e) => setSource(e.target.value as DataSource)}>
              {DATA_SOURCES.map((s) => (
                <option key={s} value={s}>
                  {s === "symbol" ? "bundled series" : s === "store" ? "market-data store" : "CSV file"}
                </option>
              ))}
            </select>
          </div>
          {DATA_FIELDS[source].map((f) => field(f, "common"))}
          {field(LAST_FIELD, "common")}
        </div>
      </fieldset>
      <fieldset>
        <legend>{search ? "Parameters: search some, fix the others" : "Parameters"}</legend>
        {search ? (
          <>
            {errors.space ? (
              <div className="field-error" data-testid="field-error-space">
                {errors.space}
              </div>
            ) : null}
            <table className="table dense">
              <thead>
                <tr>
                  <th>Search</th>
                  <th>Parameter</th>
                  <th>Low</th>
                  <th>High</th>
                  <th>Step</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {numeric.map((f) => {
                  const r = space[f.name] ?? { on: false, low: "", high: "", step: "" };
                  const upd = (patch: Partial<SpaceRow>) => setSpace((s) => ({ ...s, [f.name]: { ...r, ...patch } }));
                  return (
                    <tr key={f.name}>
                      <td>
                        <input type="checkbox" data-testid={`space-on-${f.name}`} checked={r.on} onChange={(e) => upd({ on: e.target.checked })} aria-label={`search ${f.name}`} />
                      </td>
                      <td>{f.name}</td>
                      <td>
                        <input data-testid={`space-low-${f.name}`} value={r.low} onChange={(e) => upd({ low: e.target.value })} disabled={!r.on} aria-label={`${f.name} low`} />
                      </td>
                      <td>
                        <input data-testid={`space-high-${f.name}`} value={r.high} onChange={(e) => upd({ high: e.target.value })} disabled={!r.on} aria-label={`${f.name} high`} />
                      </td>
                      <td>
                        <input data-testid={`space-step-${f.name}`} value={r.step} onChange={(e) => upd({ step: e.target.value })} disabled={!r.on} aria-label={`${f.name} step`} />
                      </td>
                      <td className="field-error" data-testid={errors[`space.${f.name}`] ? `field-error-space.${f.name}` : undefined}>
                        {errors[`space.${f.name}`]}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
            <div className="form-grid">{paramFields.filter((f) => !space[f.name]?.on).map((f) => field(f, "params"))}</div>
          </>
        ) : paramFields.length ? (
          <div className="form-grid">{paramFields.map((f) => field(f, "params"))}</div>
        ) : (
          <div className="muted">This type takes no parameter.</div>
        )}
      </fieldset>
      {search ? (
        <fieldset>
          <legend>Search</legend>
          <div className="form-grid">{SEARCH_FIELDS.map((f) => field(f, "common"))}</div>
        </fieldset>
      ) : null}
      <details open={SETTINGS_FIELDS.some((f) => errors[f.name]) || undefined}>
        <summary>Engine settings</summary>
        <div className="form-grid">{SETTINGS_FIELDS.map((f) => field(f, "common"))}</div>
      </details>
      <div className="form-actions">
        <button type="submit" className="btn btn-primary" data-testid="backtest-submit" disabled={m.isPending}>
          {m.isPending ? "Submitting…" : search ? "Start optimisation" : "Run backtest"}
        </button>
      </div>
    </form>
  );
}

function initialSpace(fields: FieldSpec[]): Record<string, SpaceRow> {
  const out: Record<string, SpaceRow> = {};
  for (const f of fields) {
    if (f.kind !== "integer" && f.kind !== "number") continue;
    const d = typeof f.default === "number" ? f.default : undefined;
    const lo = f.minimum ?? (d !== undefined ? Math.max(f.exclusiveMinimum ?? -Infinity, d / 2) : undefined);
    const hi = d !== undefined ? d * 2 : f.maximum;
    const clampHi = hi !== undefined && f.maximum !== undefined ? Math.min(hi, f.maximum) : hi;
    const round = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? "" : f.kind === "integer" ? String(Math.round(x)) : String(Number(x.toPrecision(6))));
    out[f.name] = { on: false, low: round(lo), high: round(clampHi), step: "" };
  }
  return out;
}
