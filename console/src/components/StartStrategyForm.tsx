import { useMutation } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";

import { api } from "../api/client";
import { formErrors, mapFieldErrors } from "../api/errors";
import type { StrategyCreated, StrategyType } from "../api/types";
import { collect, type FieldSpec } from "../lib/schemaForm";
import { activeCommonFields, ADVANCED_FIELDS, BASIC_FIELDS, COMMON_FIELDS, RISK_FIELDS, SIZING_AMOUNTS, startBody } from "../lib/strategyForm";
import { FormErrors } from "./Field";
import { type FieldGroup, useFormFields } from "./useFormFields";

export interface StartStrategyFormProps {
  types: StrategyType[];
  onStarted: (s: StrategyCreated) => void;
  onCancel?: () => void;
}

export function StartStrategyForm({ types, onStarted, onCancel }: StartStrategyFormProps) {
  const [type, setType] = useState(types[0]?.name ?? "");
  const kind = types.find((t) => t.name === type);
  const { paramFields, common, params, errors, setErrors, resetParams, field } = useFormFields(COMMON_FIELDS, kind);
  const [formError, setFormError] = useState<string[]>([]);

  const m = useMutation({
    mutationFn: (body: Record<string, unknown>) => api<StrategyCreated>("/strategies", { method: "POST", body }),
    meta: { banner: false },
    onSuccess: (s) => onStarted(s),
    onError: (e) => {
      const mapped = mapFieldErrors(e, { fields: ["type", ...COMMON_FIELDS.map((f) => f.name)], params: paramFields.map((f) => f.name) });
      setErrors(mapped.fields);
      setFormError(formErrors(e, mapped));
    },
  });

  function chooseType(name: string) {
    setType(name);
    resetParams(types.find((x) => x.name === name));
  }

  function submit(e: FormEvent) {
    e.preventDefault();
    setFormError([]);
    const p = collect(paramFields, params);
    const { body, errors: ce } = startBody(type, common, p.values);
    const all = { ...ce, ...p.errors };
    setErrors(all);
    if (Object.keys(all).length) return;
    m.mutate(body);
  }

  const active = new Set(activeCommonFields(common).map((f) => f.name));
  // only the sizing fields of the chosen mode show (and are checked)
  const render = (fields: FieldSpec[], group: FieldGroup) => fields.filter((f) => group === "params" || active.has(f.name)).map((f) => field(f, group));

  const hasError = (fields: FieldSpec[]) => fields.some((f) => errors[f.name]);
  const mode = String(common["sizing.mode"] ?? "");
  const sizingFields = COMMON_FIELDS.filter((f) => f.name === "sizing.mode" || (mode && (f.name === "sizing.units" || (SIZING_AMOUNTS[mode] ?? []).includes(f.name))));

  return (
    <form className="form start-form" data-testid="start-form" onSubmit={submit} noValidate>
      <FormErrors reasons={formError} />
      <fieldset>
        <legend>Strategy</legend>
        <div className="form-grid">
          <div className={`field ${errors.type ? "has-error" : ""}`}>
            <label htmlFor="f-type">
              Type<span className="req"> *</span>
            </label>
            <select id="f-type" data-testid="field-type" value={type} onChange={(e) => chooseType(e.target.value)}>
              {types.map((t) => (
                <option key={t.name} value={t.name}>
                  {t.name}
                </option>
              ))}
            </select>
            {errors.type ? (
              <div className="field-error" data-testid="field-error-type" role="alert">
                {errors.type}
              </div>
            ) : kind ? (
              <div className="field-hint">
                {kind.description} · {kind.source} {kind.code_version} · warm-up {kind.warmup} bars
              </div>
            ) : null}
          </div>
          {render(BASIC_FIELDS, "common")}
        </div>
      </fieldset>
      <fieldset>
        <legend>Parameters of {type || "…"}</legend>
        {paramFields.length ? <div className="form-grid">{render(paramFields, "params")}</div> : <div className="muted">This type takes no parameter.</div>}
      </fieldset>
      <fieldset>
        <legend>Sizing</legend>
        <div className="form-grid">{render(sizingFields, "common")}</div>
      </fieldset>
      <details open={hasError(RISK_FIELDS) || undefined}>
        <summary>Risk limits, breakers and approvals</summary>
        <div className="form-grid">{render(RISK_FIELDS, "common")}</div>
      </details>
      <details open={hasError(ADVANCED_FIELDS) || undefined}>
        <summary>LLM budget and advanced</summary>
        <div className="form-grid">{render(ADVANCED_FIELDS, "common")}</div>
      </details>
      <div className="form-actions">
        {onCancel ? (
          <button type="button" className="btn" onClick={onCancel}>
            Cancel
          </button>
        ) : null}
        <button type="submit" className="btn btn-primary" data-testid="start-submit" disabled={m.isPending}>
          {m.isPending ? "Starting…" : "Start strategy"}
        </button>
      </div>
    </form>
  );
}
