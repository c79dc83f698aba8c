import { can, canAct, fourEyesBlocks } from "./roles";

const viewer = { name: "vera", roles: ["viewer"] };
const trader = { name: "tom", roles: ["trader"] };
const risk = { name: "rita", roles: ["risk"] };
const admin = { name: "ada", roles: ["admin"] };

describe("role → allowed controls", () => {
  it("a viewer can do nothing", () => {
    for (const a of ["strategy.start", "strategy.halt", "killswitch", "approval.decide", "backtest.submit", "users.manage"] as const) {
      expect(can(viewer, a, { owner: "vera" })).toBe(false);
    }
    expect(canAct(viewer)).toBe(false);
    expect(can(null, "strategy.halt")).toBe(false);
  });

  it("a trader acts on their own strategies only", () => {
    expect(can(trader, "strategy.start")).toBe(true);
    expect(can(trader, "strategy.halt", { owner: "tom" })).toBe(true);
    expect(can(trader, "strategy.halt", { owner: "someone" })).toBe(false);
    expect(can(trader, "strategy.stop", { owner: "tom" })).toBe(true);
    expect(can(trader, "strategy.params", { owner: "someone" })).toBe(false);
    expect(can(trader, "killswitch")).toBe(false);
    expect(can(trader, "approval.decide")).toBe(false);
    expect(can(trader, "backtest.submit")).toBe(true);
  });

  it("risk halts and resumes any strategy, runs the kill switch, decides approvals", () => {
    expect(can(risk, "strategy.halt", { owner: "tom" })).toBe(true);
    expect(can(risk, "strategy.resume", { owner: "tom" })).toBe(true);
    expect(can(risk, "strategy.params", { owner: "tom" })).toBe(false);
    expect(can(risk, "strategy.stop", { owner: "tom" })).toBe(true);
    expect(can(risk, "strategy.start")).toBe(false);
    expect(can(risk, "killswitch")).toBe(true);
    expect(can(risk, "approval.decide", { owner: "tom" })).toBe(true);
  });

  it("four eyes: whoever started a strategy cannot approve its orders", () => {
    const both = { name: "tom", roles: ["trader", "risk"] };
    expect(can(both, "approval.decide", { owner: "tom" })).toBe(false);
    expect(fourEyesBlocks(both, "tom")).toBe(true);
    expect(can(both, "approval.decide", { owner: "tom", fourEyes: false })).toBe(true);
    expect(can({ name: "ada", roles: ["admin"] }, "approval.decide", { owner: "ada" })).toBe(false);
  });

  it("admin may do everything", () => {
    expect(can(admin, "users.manage")).toBe(true);
    expect(can(admin, "strategy.params", { owner: "tom" })).toBe(true);
    expect(can(admin, "killswitch")).toBe(true);
  });
});
