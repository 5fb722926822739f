import "server-only";
import type { Actor } from "@/lib/auth/types";
import { config } from "@/lib/config";
import type { Db } from "@/lib/db/client";
import { createKey } from "@/lib/keys/create";
import { managedKeySecret } from "@/lib/keys/secret";
import { orgFor } from "@/lib/orgs/access";

/**
 * The signed-in developer's playground key for an account, made on first use: an ordinary key (the gateway
 * authorizes, limits and meters it like any app's, and the keys page lists it as the playground's) whose secret the
 * platform derives from its id, so nobody pastes or sees one. Without an organization it spends from the developer's
 * own account; with one (slug or id; a role that spends: not billing) from the organization's, attributed to the
 * developer within their member caps. Revoked, it is replaced on the next playground call. Two first calls at once
 * make one key (a unique index per user and account); the loser reads the winner's.
 */
export async function playgroundKeyFor(
  db: Db,
  actor: Actor & { userId: string },
  org?: string | null,
  { pepper = config().KEY_PEPPER }: { pepper?: string } = {},
) {
  const organization = org != null ? await orgFor(db, actor, org, "spend") : null;
  const account = organization
    ? db`k.account_id = ${organization.accountId}`
    : db`k.account_id = (select a.id from accounts a where a.owner_user_id = ${actor.userId})`;
  for (let attempt = 0; attempt < 2; attempt++) {
    const [row] = await db<{ id: string }[]>`
      select k.id from api_keys k
      where k.user_id = ${actor.userId} and ${account} and k.purpose = 'playground' and k.status = 'active'
        and (k.expires_at is null or k.expires_at > now())`;
    if (row) return { id: row.id, secret: managedKeySecret(row.id, pepper) };
    try {
      const { key, secret } = await createKey(
        db,
        actor,
        {
          userId: actor.userId,
          organization: organization?.id,
          name: "Playground",
          allowedModels: [],
          rpmLimit: null,
          tpmLimit: null,
          expiresAt: null,
        },
        { pepper, purpose: "playground" },
      );
      return { id: key.id, secret };
    } catch (error) {
      // 23505: another request made it first (api_keys_one_playground_key).
      if ((error as { code?: string }).code !== "23505" || attempt > 0) throw error;
    }
  }
  throw new Error("unreachable");
}
