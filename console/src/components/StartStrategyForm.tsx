import { useMutation } from "@tanstack/react-query";
import { type FormEvent, useMemo, useState } from "react";

import { api } from "../api/client";
import { ApiError, mapFieldErrors } from "../api/errors";
import type { StrategyCreated, StrategyType } from "../api/types";
import { collect, type FieldSpec, fieldsFromSchema, type FormValue, type FormValues, initialValues, validateField } from "../lib/schemaForm";
import { activeCommonFields, ADVANCED_FIELDS, BASIC_FIELDS, COMMON_FIELDS, RISK_FIELDS, SIZING_AMOUNTS, startBody } from "../lib/strategyForm";
import { Field } from "./Field";

export interface StartStrategyFormProps {
  types: StrategyType[];
  onStarted: (s: StrategyCreated) => void;
  onCancel?: () => void;
}

export function StartStrategyForm({ types, onStarted, onCancel }: StartStrategyFormProps) {
  const [type, setType] = useState(types[0]?.name ?? "");
  const kind = types.find((t) => t.name === type);
  const paramFields = useMemo(() => fieldsFromSchema(kind?.params_schema), [kind]);
  const [common, setCommon] = useState<FormValues>(() => initialValues(COMMON_FIELDS));
  const [params, setParams] = useState<FormValues>(() => initialValues(paramFields, kind?.defaults));
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState<string[]>([]);

  const m = useMutation({
    mutationFn: (body: Record<string, unknown>) => api<StrategyCreated>("/strategies", { method: "POST", body }),
    meta: { banner: false },
    onSuccess: (s) => onStarted(s),
    onError: (e) => {
      const mapped = mapFieldErrors(e, { fields: ["type", ...COMMON_FIELDS.map((f) => f.name)], params: paramFields.map((f) => f.name) });
      setErrors(mapped.fields);
      setFormError(mapped.unmatched.length ? mapped.unmatched : Object.keys(mapped.fields).length ? [] : [e instanceof ApiError ? e.detail : String(e)]);
    },
  });

  function chooseType(name: string) {
    setType(name);
    const t = types.find((x) => x.name === name);
    const f = fieldsFromSchema(t?.params_schema);
    setParams(initialValues(f, t?.defaults));
    setErrors({});
  }

  function setOne(target: "common" | "params", spec: FieldSpec, v: FormValue) {
    if (target === "common") setCommon((c) => ({ ...c, [spec.name]: v }));
    else setParams((p) => ({ ...p, [spec.name]: v }));
    if (errors[spec.name]) setErrors(({ [spec.name]: _gone, ...rest }) => rest);
  }

  function blur(spec: FieldSpec, v: FormValue | undefined) {
    const e = validateField(spec, v);
    setErrors((errs) => {
      const { [spec.name]: _old, ...rest } = errs;
      return e ? { ...rest, [spec.name]: e } : rest;
    });
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
  const render = (fields: FieldSpec[], target: "common" | "params") =>
    fields
      .filter((f) => target === "params" || active.has(f.name))
      .map((f) => {
        const values = target === "common" ? common : params;
        return (
          <Field
            key={`${target}-${f.name}`}
            spec={f}
            value={values[f.name]}
            error={errors[f.name]}
            onChange={(v) => setOne(target, f, v)}
            onBlur={() => blur(f, values[f.name])}
          />
        );
      });

  const hasError = (fields: FieldSpec[]) => fields.some((f) => errors[f.name]);
  const mode = String(common["sizing.mode"] ?? "");
  const sizingFields = COMMON_FIELDS.filter((f) => f.name === "sizing.mode" || (mode && (f.name === "sizing.units" || (SIZING_AMOUNTS[mode] ?? []).includes(f.name))));

  return (
    <form className="form start-form" data-testid="start-form" onSubmit={submit} noValidate>
      {formError.length ? (
        <div className="form-error" role="alert" data-testid="form-error">
          {formError.map((r) => (
            <div key={r}>{r}</div>
          ))}
        </div>
      ) : null}
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
