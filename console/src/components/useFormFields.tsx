import { useMemo, useState } from "react";

import type { StrategyType } from "../api/types";
import { type FieldSpec, fieldsFromSchema, type FormValue, type FormValues, initialValues, validateField } from "../lib/schemaForm";
import { Field } from "./Field";

/** Which values a field belongs to: the request's own fields, or the strategy type's params. */
export type FieldGroup = "common" | "params";

/**
 * The state the run and start forms share: the common fields' values, the chosen type's param
 * fields and values, and one error per field name (one map for both groups, as the API's 422
 * names them).
 */
export function useFormFields(commonFields: FieldSpec[], type: StrategyType | undefined) {
  const paramFields = useMemo(() => fieldsFromSchema(type?.params_schema), [type]);
  const [common, setCommon] = useState<FormValues>(() => initialValues(commonFields));
  const [params, setParams] = useState<FormValues>(() => initialValues(paramFields, type?.defaults));
  const [errors, setErrors] = useState<Record<string, string>>({});

  function set(group: FieldGroup, spec: FieldSpec, v: FormValue) {
    if (group === "common") setCommon((c) => ({ ...c, [spec.name]: v }));
    else setParams((p) => ({ ...p, [spec.name]: v }));
    if (errors[spec.name]) setErrors(({ [spec.name]: _gone, ...rest }) => rest);
  }

  /** On leaving a field: its own error, or none. */
  function check(spec: FieldSpec, v: FormValue | undefined) {
    const err = validateField(spec, v);
    setErrors(({ [spec.name]: _old, ...rest }) => (err ? { ...rest, [spec.name]: err } : rest));
  }

  /** Another type chosen: its params start from its defaults and the last type's errors go; its param fields. */
  function resetParams(next: StrategyType | undefined): FieldSpec[] {
    const fields = fieldsFromSchema(next?.params_schema);
    setParams(initialValues(fields, next?.defaults));
    setErrors({});
    return fields;
  }

  const field = (spec: FieldSpec, group: FieldGroup) => {
    const values = group === "common" ? common : params;
    return (
      <Field
        key={`${group}-${spec.name}`}
        spec={spec}
        value={values[spec.name]}
        error={errors[spec.name]}
        onChange={(v) => set(group, spec, v)}
        onBlur={() => check(spec, values[spec.name])}
      />
    );
  };

  return { paramFields, common, params, errors, setErrors, resetParams, field };
}
