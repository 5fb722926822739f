import "server-only";
import { type Db, inTransaction } from "@/lib/db/client";
import { type EnvelopeKey, envelopeKeys, openCredential, sealCredential } from "./crypto";

// Envelope key rotation (README "Provider keys"): with the new key listed first in PROVIDER_KEYS and the old ones
// kept, every credential sealed under another key is opened and sealed again under the first, a row at a time
// (locked, so a concurrent rotation skips it). Afterwards no row names an old key and it can be removed.
// `npm run credentials:rotate` runs it; so does the queue job providers.rotate.

export const ROTATE_CREDENTIALS_JOB = "providers.rotate";

export interface RotateResult {
  keyId: string;
  resealed: number;
  /** Rows whose key is not configured any more: left as they are (listed by id, never their content). */
  unreadable: string[];
}

export async function rotateCredentials(db: Db, keys: EnvelopeKey[] = envelopeKeys()): Promise<RotateResult> {
  const current = keys[0]!.id;
  const result: RotateResult = { keyId: current, resealed: 0, unreadable: [] };
  for (;;) {
    const done = await inTransaction(db, async (tx) => {
      const rows = await tx<{ id: string; sealed: string }[]>`
        select id::text as id, secret_sealed as sealed from provider_credentials
        where secret_sealed not like ${`${current}:%`} and not (id::text = any(${tx.array(result.unreadable)}::text[]))
        order by id limit 100 for update skip locked`;
      for (const row of rows) {
        let secret: string;
        try {
          secret = openCredential(row.sealed, keys);
        } catch {
          result.unreadable.push(row.id);
          continue;
        }
        await tx`update provider_credentials set secret_sealed = ${sealCredential(secret, keys)} where id = ${row.id}`;
        result.resealed += 1;
      }
      return rows.length === 0;
    });
    if (done) return result;
  }
}
