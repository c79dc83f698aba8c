import type { FieldSpec, FormValue } from "../lib/schemaForm";
import { boundsHint } from "../lib/schemaForm";

export interface FieldProps {
  spec: FieldSpec;
  value: FormValue | undefined;
  error?: string;
  onChange: (v: FormValue) => void;
  onBlur?: () => void;
  disabled?: boolean;
}

/** One form field: label, input (data-testid field-<name>), hint and error (field-error-<name>). */
export function Field({ spec, value, error, onChange, onBlur, disabled }: FieldProps) {
  const id = `f-${spec.name.replace(/[^\w-]/g, "_")}`;
  const hintParts = [spec.description, boundsHint(spec), spec.kind === "string-list" ? "comma-separated" : ""].filter(Boolean);
  const common = {
    id,
    "data-testid": `field-${spec.name}`,
    "aria-invalid": error ? true : undefined,
    "aria-describedby": error ? `${id}-err` : hintParts.length ? `${id}-hint` : undefined,
    disabled,
    onBlur,
  };
  let input;
  if (spec.kind === "boolean") {
    input = <input type="checkbox" {...common} checked={value === true} onChange={(e) => onChange(e.target.checked)} />;
  } else if (spec.kind === "enum") {
    input = (
      <select {...common} value={String(value ?? "")} onChange={(e) => onChange(e.target.value)}>
        {!spec.required || spec.nullable || value === "" ? <option value="">{spec.nullable ? "(none)" : "(default)"}</option> : null}
        {(spec.options ?? []).map((o) => (
          <option key={String(o)} value={String(o)}>
            {String(o)}
          </option>
        ))}
      </select>
    );
  } else if (spec.kind === "json") {
    input = (
      <textarea {...common} rows={2} value={String(value ?? "")} placeholder={spec.placeholder ?? "{}"} onChange={(e) => onChange(e.target.value)} />
    );
  } else {
    const numeric = spec.kind === "integer" || spec.kind === "number" || spec.kind === "decimal";
    input = (
      <input
        type="text"
        inputMode={numeric ? (spec.kind === "integer" ? "numeric" : "decimal") : undefined}
        {...common}
        value={String(value ?? "")}
        placeholder={spec.placeholder}
        onChange={(e) => onChange(e.target.value)}
        autoComplete="off"
        spellCheck={false}
      />
    );
  }
  return (
    <div className={`field field-${spec.kind} ${error ? "has-error" : ""}`}>
      <label htmlFor={id}>
        {spec.label}
        {spec.required ? <span className="req"> *</span> : null}
      </label>
      {input}
      {error ? (
        <div className="field-error" id={`${id}-err`} data-testid={`field-error-${spec.name}`} role="alert">
          {error}
        </div>
      ) : hintParts.length ? (
        <div className="field-hint" id={`${id}-hint`}>
          {hintParts.join(" · ")}
        </div>
      ) : null}
    </div>
  );
}

/** The reasons above a form that no field took (nothing when there are none). */
export function FormErrors({ reasons }: { reasons: string[] }) {
  if (!reasons.length) return null;
  return (
    <div className="form-error" role="alert" data-testid="form-error">
      {reasons.map((r) => (
        <div key={r}>{r}</div>
      ))}
    </div>
  );
}
