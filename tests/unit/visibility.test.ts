// Who sees what (lib/auth/visibility.ts): the one rule every read that carries provider cost and every owner check asks.
import { describe, expect, it } from "vitest";
import type { Actor } from "@/lib/auth/types";
import {
  canManage,
  hideCost,
  isAdmin,
  ownerScope,
  ownView,
  seesCost,
  withMargin,
} from "@/lib/auth/visibility";

const DEV = "00000000-0000-4000-8000-000000000001";
const OTHER = "00000000-0000-4000-8000-000000000002";
const actors: Record<string, Actor> = {
  admin: { kind: "user", userId: OTHER, role: "admin" },
  developer: { kind: "user", userId: DEV, role: "developer" },
  system: { kind: "system", userId: null },
  gateway: { kind: "gateway", userId: null },
  cron: { kind: "cron", userId: null },
};

describe("visibility", () => {
  it("admins and the platform itself see everything and cost; a developer their own rows, never cost", () => {
    for (const who of ["admin", "system", "gateway", "cron"]) {
      const actor = actors[who]!;
      expect([isAdmin(actor), seesCost(actor), ownerScope(actor)], who).toEqual([true, true, null]);
      expect(canManage(actor, DEV), who).toBe(true);
    }
    const dev = actors.developer!;
    expect([isAdmin(dev), seesCost(dev), ownerScope(dev)]).toEqual([false, false, DEV]);
    expect(canManage(dev, DEV)).toBe(true);
    expect(canManage(dev, OTHER)).toBe(false);
    // A row no user owns (the system account) is an admin's only.
    expect(canManage(dev, null)).toBe(false);
  });

  it('an own view (the "My …" pages) is limited to the actor\'s user for every role; an admin keeps cost', () => {
    expect(ownerScope(ownView(actors.admin!))).toBe(OTHER);
    expect(ownerScope(ownView(actors.developer!))).toBe(DEV);
    expect(seesCost(ownView(actors.admin!))).toBe(true);
    expect(seesCost(ownView(actors.developer!))).toBe(false);
    // The admin pages' reads are unchanged: every user's rows.
    expect(ownerScope(actors.admin!)).toBeNull();
    // No signed-in user, no own rows: never widened to everyone's.
    expect(() => ownView(actors.system!)).toThrow();
  });

  it("leaves provider cost out of a developer's rows, and adds the margin to an admin's", () => {
    const row = { revenueMicros: 150n, costMicros: 100n, calls: 3 };
    expect(withMargin(actors.admin!, row)).toEqual({ ...row, marginMicros: 50n });
    expect(withMargin(actors.developer!, row)).toEqual({ revenueMicros: 150n, calls: 3 });
    const price = { inputPriceMicros: 3n, inputCostMicros: 1n, outputCostMicros: 2n };
    expect(hideCost(actors.developer!, price, ["inputCostMicros", "outputCostMicros"])).toEqual({
      inputPriceMicros: 3n,
    });
    expect(hideCost(actors.admin!, price, ["inputCostMicros", "outputCostMicros"])).toBe(price);
    expect(price).toEqual({ inputPriceMicros: 3n, inputCostMicros: 1n, outputCostMicros: 2n });
  });
});
