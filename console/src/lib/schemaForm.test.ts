import strategyTypesJson from "../test/strategy-types.json";
import type { JsonSchema } from "../api/types";
const strategyTypes = strategyTypesJson as unknown as { name: string; params_schema: JsonSchema; defaults: Record<string, unknown> }[];
import { collect, fieldsFromSchema, initialValues, parseField, validateField } from "./schemaForm";

const schema: JsonSchema = {
  type: "object",
  additionalProperties: false,
  required: ["fast"],
  properties: {
    fast: { type: "integer", minimum: 2, maximum: 1000, default: 10, description: "Bars in the fast SMA." },
    threshold: { type: "number", exclusiveMinimum: 0, exclusiveMaximum: 1, default: 0.25 },
    mode: { enum: ["fallback", "halt"], type: "string", default: "fallback" },
    use_llm: { type: "boolean", default: true },
    symbols: { type: "array", items: { type: "string", maxLength: 8 }, minItems: 1 },
    size: { anyOf: [{ type: "number", exclusiveMinimum: 0, maximum: 1e12 }, { type: "string" }], default: "1" },
    weight: { anyOf: [{ type: "number", minimum: 0, maximum: 1 }, { type: "null" }], default: null },
    label: { type: "string", minLength: 2, maxLength: 5, pattern: "^[a-z]+$" },
    analysts: { type: "object", additionalProperties: { type: "number" } },
    choice: { $ref: "#/$defs/Choice" },
  },
  $defs: { Choice: { enum: ["a", "b"], type: "string" } },
};

describe("JSON Schema → form fields", () => {
  const fields = fieldsFromSchema(schema);
  const by = Object.fromEntries(fields.map((f) => [f.name, f]));

  it("picks a kind per property", () => {
    expect(by.fast).toMatchObject({ kind: "integer", minimum: 2, maximum: 1000, required: true, description: "Bars in the fast SMA." });
    expect(by.threshold.kind).toBe("number");
    expect(by.mode).toMatchObject({ kind: "enum", options: ["fallback", "halt"] });
    expect(by.use_llm.kind).toBe("boolean");
    expect(by.symbols.kind).toBe("string-list");
    expect(by.size).toMatchObject({ kind: "decimal", exclusiveMinimum: 0 });
    expect(by.weight).toMatchObject({ kind: "number", nullable: true, maximum: 1 });
    expect(by.analysts.kind).toBe("json");
    expect(by.choice).toMatchObject({ kind: "enum", options: ["a", "b"] });
  });

  it("prefills the defaults", () => {
    const v = initialValues(fields);
    expect(v).toMatchObject({ fast: "10", threshold: "0.25", mode: "fallback", use_llm: true, size: "1", weight: "" });
  });

  it("checks integer bounds and integrality", () => {
    expect(validateField(by.fast, "1")).toBe("must be greater than or equal to 2");
    expect(validateField(by.fast, "1001")).toBe("must be less than or equal to 1000");
    expect(validateField(by.fast, "2.5")).toBe("must be an integer");
    expect(validateField(by.fast, "abc")).toBe("must be an integer");
    expect(validateField(by.fast, "2")).toBeNull();
  });

  it("checks exclusive bounds", () => {
    expect(validateField(by.threshold, "0")).toBe("must be greater than 0");
    expect(validateField(by.threshold, "1")).toBe("must be less than 1");
    expect(validateField(by.threshold, "0.5")).toBeNull();
    expect(validateField(by.size, "0")).toBe("must be greater than 0");
  });

  it("checks required, enum, strings and lists", () => {
    expect(validateField(by.fast, "")).toBe("required");
    expect(validateField(by.threshold, "")).toBeNull(); // optional: left to its default
    expect(validateField(by.mode, "other")).toBe("must be one of fallback, halt");
    expect(validateField(by.label, "a")).toBe("must have at least 2 characters");
    expect(validateField(by.label, "abcdef")).toBe("must have at most 5 characters");
    expect(validateField(by.label, "AB")).toMatch(/format/);
    expect(validateField(by.symbols, " , ")).toBe("needs at least 1 item");
    expect(validateField(by.symbols, "MSFT/USD, TOOLONGNAME")).toMatch(/longer than 8/);
    expect(validateField(by.analysts, "{bad")).toBe("must be valid JSON");
  });

  it("collects typed values to send", () => {
    const values = { ...initialValues(fields), fast: "5", symbols: "A, B", size: "0.10", use_llm: false, analysts: '{"x": 0.5}' };
    const out = collect(fields, values);
    expect(out.errors).toEqual({});
    expect(out.values).toMatchObject({ fast: 5, threshold: 0.25, symbols: ["A", "B"], size: "0.10", use_llm: false, analysts: { x: 0.5 } });
    expect("weight" in out.values).toBe(false);
    expect(parseField(by.mode, "halt")).toEqual({ ok: true, value: "halt", omit: false });
  });

  it("reads the API's own strategy types", () => {
    for (const t of strategyTypes as { params_schema: JsonSchema; defaults: Record<string, unknown> }[]) {
      const f = fieldsFromSchema(t.params_schema);
      expect(f.length).toBeGreaterThan(0);
      const out = collect(f, initialValues(f, t.defaults));
      expect(out.errors).toEqual({});
    }
    const agent = fieldsFromSchema(strategyTypes.find((t) => t.name === "agent")!.params_schema);
    const tw = agent.find((f) => f.name === "technical_weight")!;
    expect(tw).toMatchObject({ kind: "number", nullable: true, minimum: 0, maximum: 1 });
  });
});
