import { formatDuration, localInputToIso, timeLeft } from "./time";

describe("time left", () => {
  const now = Date.parse("2024-05-01T12:00:00Z");

  it("counts down minutes and seconds", () => {
    expect(timeLeft("2024-05-01T12:04:05Z", now)).toMatchObject({ expired: false, text: "4m 05s", urgent: false });
    expect(timeLeft("2024-05-01T12:00:30Z", now)).toMatchObject({ text: "30s", urgent: true });
    expect(timeLeft("2024-05-01T14:05:00Z", now).text).toBe("2h 05m");
  });

  it("says expired at and after the deadline", () => {
    expect(timeLeft("2024-05-01T12:00:00Z", now)).toMatchObject({ expired: true, text: "expired" });
    expect(timeLeft("2024-05-01T11:00:00Z", now).expired).toBe(true);
    expect(timeLeft("not a time", now).expired).toBe(true);
  });

  it("ticks with the clock", () => {
    const end = "2024-05-01T12:01:00Z";
    expect(timeLeft(end, now).text).toBe("1m 00s");
    expect(timeLeft(end, now + 1000).text).toBe("59s");
  });

  it("formats durations and UTC inputs", () => {
    expect(formatDuration(0)).toBe("0s");
    expect(localInputToIso("2024-05-01T12:34")).toBe("2024-05-01T12:34:00.000Z");
    expect(localInputToIso("")).toBeUndefined();
  });
});
