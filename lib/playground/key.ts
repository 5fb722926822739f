import "server-only";
import type { Actor } from "@/lib/auth/types";
import type { Db } from "@/lib/db/client";
import { createKey } from "@/lib/keys/create";
import { managedKeySecret } from "@/lib/keys/secret";

/**
 * The signed-in developer's playground key, made on first use: an ordinary key (the gateway authorizes, limits and
 * meters it like any app's, and the keys page lists it as the playground's) whose secret the platform derives from
 * its id, so nobody pastes or sees one. Revoked, it is replaced on the next playground call. Two first calls at
 * once make one key (a unique index per user); the loser reads the winner's.
 */
export async function playgroundKey(db: Db, actor: Actor & { userId: string }, pepper: string) {
  for (let attempt = 0; attempt < 2; attempt++) {
    const [row] = await db<{ id: string }[]>`
      select id from api_keys where user_id = ${actor.userId} and purpose = 'playground' and status = 'active'
        and (expires_at is null or expires_at > now())`;
    if (row) return { id: row.id, secret: managedKeySecret(row.id, pepper) };
    try {
      const { key, secret } = await createKey(
        db,
        actor,
        {
          userId: actor.userId,
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
