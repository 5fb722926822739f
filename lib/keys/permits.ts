// Who may do what to an organization's key, written once: lib/keys/access.ts enforces it, and the keys page reads it
// to offer only what would be allowed (no server-only: client components import it).
//
// - view: its maker while still a member who holds keys (keys.own), the organization's owners and admins (keys.manage);
// - change (edit, revoke): as view, except that a key whose maker is the owner or an admin is changed by the owner or
//   by its maker only — an admin manages members' keys, not the keys of those they cannot manage (lib/orgs/members.ts,
//   assertMayTouchAdmin);
// - rotate (a new secret): its maker only — a rotation hands out a secret, and a secret spends as its member.
// Platform admins may do all three to every key.

export type KeyAction = "view" | "change" | "rotate";

/** The viewer as the key's organization sees them (its abilities: lib/orgs/access.ts orgAllows). */
export interface OrgKeyViewer {
  userId: string | null;
  /** A platform admin (not in an own view). */
  platformAdmin: boolean;
  /** The organization's owner. */
  owner: boolean;
  /** keys.manage: every member's keys. */
  manageKeys: boolean;
  /** keys.own: one's own keys of the organization. */
  ownKeys: boolean;
}

/** Whether the viewer may do `action` to the organization's key (its maker, and the maker's role there now). */
export function mayOnOrgKey(
  viewer: OrgKeyViewer,
  key: { userId: string; makerRole: string | null },
  action: KeyAction,
): boolean {
  if (viewer.platformAdmin) return true;
  const maker = viewer.userId !== null && key.userId === viewer.userId && viewer.ownKeys;
  if (action === "rotate") return maker;
  const sees = maker || viewer.manageKeys;
  if (action === "view") return sees;
  const makerManages = key.makerRole === "owner" || key.makerRole === "admin";
  return sees && (maker || viewer.owner || !makerManages);
}
