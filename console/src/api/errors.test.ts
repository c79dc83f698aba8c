import { ApiError, mapFieldErrors, splitReason } from "./errors";

const fields = ["name", "type", "symbols", "interval", "capital", "sizing.fraction", "exchange"];

describe("server 422 → form fields", () => {
  it("maps the errors list by path", () => {
    const e = new ApiError(422, {
      detail: "…",
      errors: [
        "params.fast: Input should be greater than or equal to 2",
        "symbols.0: String should have at most 64 characters",
        "capital: Input should be greater than 0",
        "something odd",
      ],
    });
    const m = mapFieldErrors(e, { fields, params: ["fast", "slow"] });
    expect(m.fields).toEqual({
      fast: "Input should be greater than or equal to 2",
      symbols: "String should have at most 64 characters",
      capital: "Input should be greater than 0",
    });
    expect(m.unmatched).toEqual(["something odd"]);
  });

  it("reads the params' reasons from a domain error's detail", () => {
    const e = new ApiError(422, {
      detail: "invalid sma_cross parameters: fast: must be greater than or equal to 1; unknown parameter 'x'",
      type: "invalid_input",
    });
    const m = mapFieldErrors(e, { fields, params: ["fast"] });
    expect(m.fields.fast).toBe("must be greater than or equal to 1");
    expect(m.unmatched).toEqual(["unknown parameter 'x'"]);
  });

  it("maps a detail that names a field, and a nested path to its field", () => {
    expect(mapFieldErrors(new ApiError(422, { detail: "name: is reserved" }), { fields }).fields.name).toBe("is reserved");
    const e = new ApiError(422, { detail: "", errors: ["sizing.fraction: Input should be less than or equal to 1"] });
    expect(mapFieldErrors(e, { fields }).fields["sizing.fraction"]).toContain("less than");
    const tagged = new ApiError(422, { detail: "", errors: ["sizing.equity_fraction.fraction: bad"] });
    expect(mapFieldErrors(tagged, { fields }).fields["sizing.fraction"]).toBe("bad");
  });

  it("keeps a param name from matching a common field and joins repeated reasons", () => {
    const e = new ApiError(422, { detail: "", errors: ["params.name: a", "params.name: b"] });
    const m = mapFieldErrors(e, { fields, params: ["name"] });
    expect(m.fields).toEqual({ name: "a; b" });
  });

  it("anything else is unmatched", () => {
    const m = mapFieldErrors(new ApiError(409, { detail: "already stopped" }), { fields });
    expect(m.unmatched).toEqual(["already stopped"]);
    expect(mapFieldErrors(new Error("boom"), { fields }).unmatched).toEqual(["boom"]);
    expect(splitReason("a.b: c")).toEqual({ path: "a.b", message: "c" });
  });
});
