import { addDecimals, decimalSign, formatDecimal, formatMoney, formatQty, parseDecimal } from "./money";

describe("money formatting", () => {
  it("formats decimal strings without floats", () => {
    expect(formatMoney("1234.5")).toBe("1,234.50");
    expect(formatMoney("-1234567.891")).toBe("-1,234,567.891");
    expect(formatMoney("0")).toBe("0.00");
    expect(formatMoney("100000")).toBe("100,000.00");
  });

  it("keeps every digit of values a float would change", () => {
    expect(formatMoney("0.1", { dp: 20 })).toBe("0.10000000000000000000");
    expect(formatMoney("12345678901234567890.12")).toBe("12,345,678,901,234,567,890.12");
    expect(formatQty("0.00000001")).toBe("0.00000001");
  });

  it("rounds half away from zero on the digits", () => {
    expect(formatMoney("2.675", { dp: 2 })).toBe("2.68"); // a float says 2.67
    expect(formatMoney("-2.675", { dp: 2 })).toBe("-2.68");
    expect(formatMoney("9.995", { dp: 2 })).toBe("10.00");
    expect(formatMoney("999.999", { dp: 2 })).toBe("1,000.00");
    expect(formatMoney("-0.001", { dp: 2 })).toBe("0.00");
    expect(formatMoney("1.23456789123", {})).toBe("1.23456789");
  });

  it("reads exponents as Decimal writes them", () => {
    expect(formatMoney("1E+5")).toBe("100,000.00");
    expect(formatMoney("1.5E-3")).toBe("0.0015");
    expect(parseDecimal("2.50E+1")).toEqual({ negative: false, int: "25", frac: "0" });
  });

  it("signs and missing values", () => {
    expect(formatMoney("12.5", { signed: true })).toBe("+12.50");
    expect(formatMoney("0", { signed: true })).toBe("0.00");
    expect(formatMoney(null)).toBe("—");
    expect(formatMoney("NaN")).toBe("—");
    expect(formatMoney("abc")).toBe("—");
    expect(decimalSign("-0.0")).toBe(0);
    expect(decimalSign("-0.01")).toBe(-1);
  });

  it("quantities trim trailing zeros", () => {
    expect(formatQty("1.500000")).toBe("1.5");
    expect(formatQty("2")).toBe("2");
    expect(formatDecimal("1234", { grouping: false })).toBe("1234");
  });

  it("adds decimal strings exactly", () => {
    expect(addDecimals(["0.1", "0.2"])).toBe("0.3");
    expect(addDecimals(["100000", "-0.005", null])).toBe("99999.995");
    expect(addDecimals([])).toBe("0");
  });
});
