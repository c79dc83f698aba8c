// Which controls the signed-in user may use, by the API's rules (api/auth): admin holds every
// role; trader starts strategies and halts, resumes, stops and re-parameterises its own; risk
// halts, resumes and stops any strategy, runs the kill switch, decides approvals and reconciles.
// The API refuses anything else anyway: this only hides what would be refused.

export interface Principal {
  name: string;
  roles: readonly string[];
}

export type Action =
  | "strategy.start"
  | "strategy.halt"
  | "strategy.resume"
  | "strategy.stop"
  | "strategy.params"
  | "strategy.upgrade"
  | "killswitch"
  | "approval.decide"
  | "backtest.submit"
  | "backtest.cancel"
  | "optimization.submit"
  | "optimization.cancel"
  | "data.import"
  | "reconcile"
  | "users.manage";

export interface ActionContext {
  /** Who started the strategy the action is on (StrategyPublic.created_by). */
  owner?: string;
  /** Whether the four-eyes rule is on (GET /info four_eyes; on when unknown). */
  fourEyes?: boolean;
}

export function hasRole(user: Principal | null | undefined, role: string): boolean {
  if (!user) return false;
  return user.roles.includes("admin") || user.roles.includes(role);
}

/** Whether ``user`` may do ``action`` (in ``ctx``). */
export function can(user: Principal | null | undefined, action: Action, ctx: ActionContext = {}): boolean {
  if (!user) return false;
  const admin = user.roles.includes("admin");
  const trader = hasRole(user, "trader");
  const risk = hasRole(user, "risk");
  const owns = ctx.owner !== undefined && ctx.owner !== "" && ctx.owner === user.name;
  switch (action) {
    case "strategy.start":
    case "backtest.submit":
    case "backtest.cancel":
    case "optimization.submit":
    case "optimization.cancel":
    case "data.import":
      return trader;
    case "strategy.halt":
    case "strategy.resume":
    case "strategy.stop":
      return admin || risk || (trader && owns);
    case "strategy.params":
    case "strategy.upgrade":
      return admin || (trader && owns);
    case "killswitch":
    case "reconcile":
      return risk;
    case "approval.decide":
      if (!risk) return false;
      return !(ctx.fourEyes !== false && owns);
    case "users.manage":
      return admin;
  }
}

/** The four-eyes rule stops this user deciding on this strategy's orders. */
export function fourEyesBlocks(user: Principal | null | undefined, owner: string, fourEyes = true): boolean {
  return !!user && fourEyes && owner !== "" && owner === user.name && hasRole(user, "risk");
}

/** Whether the user holds any role that can act at all (a viewer sees no control). */
export function canAct(user: Principal | null | undefined): boolean {
  return !!user && ["trader", "risk", "admin"].some((r) => user.roles.includes(r));
}
