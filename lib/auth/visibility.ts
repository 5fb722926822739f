import type { Actor } from "./types";

// Who sees what, written once: every read that carries provider cost and every owner check asks here.
// Administrators and the platform acting for itself (system, gateway, cron) see and manage everything; a
// developer sees and manages their own rows, and never provider cost or margin (billing contract, clause 25).
// The developer area's "My …" pages read through ownView: the actor's own rows whatever the role, so an admin's
// "My calls" are the admin's calls, not the platform's.

/** Administrators and the platform itself: every user's rows, every action. */
export function isAdmin(actor: Actor): boolean {
  return actor.kind !== "user" || actor.role === "admin";
}

/**
 * An administrator acting as the platform, not viewing their own rows ("My …"): may act in any organization and on
 * anyone's keys. In an own view an admin is a person like any other.
 */
export function actsAsPlatformAdmin(actor: Actor): boolean {
  return isAdmin(actor) && actor.view !== "own";
}

/** Provider cost and margin are for admins only: every answer to anyone else leaves them out. */
export function seesCost(actor: Actor): boolean {
  return isAdmin(actor);
}

/** Whether the actor may see and act on what a user owns: admins anything, a developer their own. */
export function canManage(actor: Actor, ownerUserId: string | null): boolean {
  return isAdmin(actor) || (ownerUserId !== null && actor.userId === ownerUserId);
}

/** The actor as a view of their own rows: every read through it is limited to their user, admins' included. */
export function ownView(actor: Actor): Actor {
  if (actor.userId === null) throw new Error("A view of one's own rows needs a signed-in user.");
  return { ...actor, view: "own" };
}

/**
 * The user a read is limited to: the actor's own id in an own view or for a developer; null (every user's rows)
 * for admins and the platform otherwise.
 */
export function ownerScope(actor: Actor): string | null {
  if (actor.view === "own") return actor.userId;
  return isAdmin(actor) ? null : actor.userId;
}

/** The row as the actor may see it: the named provider-cost fields left out for anyone who does not see cost. */
export function hideCost<T extends object, K extends keyof T>(actor: Actor, row: T, fields: readonly K[]): T {
  if (seesCost(actor)) return row;
  const visible = { ...row };
  for (const field of fields) delete visible[field];
  return visible;
}

/** A money row as the actor may see it: cost and margin (revenue − cost) for admins, neither for anyone else. */
export function withMargin<T extends { costMicros?: bigint; revenueMicros: bigint }>(
  actor: Actor,
  row: T,
): T & { marginMicros?: bigint } {
  if (!seesCost(actor)) return hideCost(actor, row, ["costMicros"]);
  return { ...row, marginMicros: row.revenueMicros - (row.costMicros ?? 0n) };
}
