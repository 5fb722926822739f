import "server-only";
import { recordAudit } from "@/lib/audit/record";
import type { Actor } from "@/lib/auth/types";
import { actsAsPlatformAdmin } from "@/lib/auth/visibility";
import { type Db, inTransaction } from "@/lib/db/client";
import { AppError, conflict, notFound } from "@/lib/http/errors";
import { loadKeyFor } from "@/lib/keys/access";
import { orgFor } from "@/lib/orgs/access";
import { defaultNetPolicy, type NetPolicy } from "@/lib/webhooks/ssrf";
import { checkProviderBase } from "./base-url";
import { maskedSecret, sealCredential } from "./crypto";
import {
  type CreateCredentialBody,
  type CredentialOwnerQuery,
  type CredentialScope,
  createCredentialBody,
  type ProviderCredential,
} from "./schemas";

// Provider credentials (BYOK, issue 29): a person's own (member scope: every key they hold, their organization keys
// too), an organization's (owners and admins change them: the credentials verb; every member sees them masked), or
// one key's (whoever may change the key). Platform admins act on all. Secrets are sealed on the way in and never come
// out: answers and the audit log carry the masked hint only.

export interface CredentialOwner {
  scope: CredentialScope;
  keyId: string | null;
  userId: string | null;
  organizationId: string | null;
  /** The account whose owner chooses the platform fallback (a key's account, the person's, the organization's). */
  accountId: string;
}

const columns = (db: Db) => db`
  c.id::text as id, c.scope, c.key_id::text as "keyId", c.organization_id::text as "organizationId", c.provider,
  c.label, c.api_base as "apiBase", c.api_version as "apiVersion", c.secret_hint as hint, c.status,
  c.last_error as "lastError", c.last_checked_at as "lastCheckedAt", c.created_at as "createdAt"`;

type Row = Omit<ProviderCredential, "masked"> & { hint: string };
const shown = ({ hint, ...row }: Row): ProviderCredential => ({
  ...row,
  masked: maskedSecret(hint, row.provider),
});

/** Whose credentials the request names, as the actor may act on them (change: store, delete, test, fallback). */
export async function credentialOwner(
  db: Db,
  actor: Actor,
  { org, keyId }: CredentialOwnerQuery,
  { change = false } = {},
): Promise<CredentialOwner> {
  if (keyId) {
    const key = await loadKeyFor(db, actor, keyId, { action: change ? "change" : "view" });
    return { scope: "key", keyId: key.id, userId: null, organizationId: null, accountId: key.accountId };
  }
  if (org) {
    const ctx = await orgFor(db, actor, org, change ? "credentials" : "view");
    return {
      scope: "organization",
      keyId: null,
      userId: null,
      organizationId: ctx.id,
      accountId: ctx.accountId,
    };
  }
  if (!actor.userId) throw notFound("Your account");
  const [account] = await db<{ id: string }[]>`
    select id::text as id from accounts where owner_user_id = ${actor.userId}`;
  if (!account) throw notFound("Your account");
  return { scope: "member", keyId: null, userId: actor.userId, organizationId: null, accountId: account.id };
}

const ownedBy = (db: Db, owner: CredentialOwner) =>
  owner.scope === "key"
    ? db`c.scope = 'key' and c.key_id = ${owner.keyId}`
    : owner.scope === "organization"
      ? db`c.scope = 'organization' and c.organization_id = ${owner.organizationId}`
      : db`c.scope = 'member' and c.user_id = ${owner.userId}`;

export interface CredentialList {
  credentials: ProviderCredential[];
  /** Whether calls without a usable credential of their own are served with the platform's (else refused); null
   *  while the account has never stored one (the platform's serve). */
  allowPlatformFallback: boolean | null;
  /** The owner's plan's BYOK fee: basis points of the price-book price of each call served with their keys. */
  byokFeeBps: number;
  /** The fee's per-request part (micro-USD), added to the share; never more than the call's price in all. */
  byokFeeRequestMicros: bigint;
}

export async function listCredentials(
  db: Db,
  actor: Actor,
  query: CredentialOwnerQuery,
): Promise<CredentialList> {
  const owner = await credentialOwner(db, actor, query);
  const rows = await db<Row[]>`
    select ${columns(db)} from provider_credentials c where ${ownedBy(db, owner)} order by c.provider, c.created_at`;
  const [account] = await db<{ fallback: boolean | null; feeBps: number; feeRequestMicros: bigint }[]>`
    select byok_fallback as fallback, f.fee_bps as "feeBps", f.fee_request_micros as "feeRequestMicros"
    from accounts cross join lateral byok_fees(accounts.id) f where accounts.id = ${owner.accountId}`;
  return {
    credentials: rows.map(shown),
    allowPlatformFallback: account?.fallback ?? null,
    byokFeeBps: account?.feeBps ?? 500,
    byokFeeRequestMicros: account?.feeRequestMicros ?? 0n,
  };
}

async function credentialFor(db: Db, actor: Actor, id: string, change: boolean) {
  if (!/^[0-9a-f-]{36}$/i.test(id)) throw notFound("The provider key");
  const [row] = await db<(Row & { userId: string | null; orgId: string | null })[]>`
    select ${columns(db)}, c.user_id::text as "userId", c.organization_id::text as "orgId"
    from provider_credentials c where c.id = ${id}`;
  if (!row) throw notFound("The provider key");
  const { userId, orgId, ...credential } = row;
  if (credential.scope === "member") {
    // A person's own: theirs and platform admins' only (a person's credentials are nobody else's business).
    if (userId !== actor.userId && !actsAsPlatformAdmin(actor)) throw notFound("The provider key");
    return shown(credential);
  }
  try {
    await credentialOwner(
      db,
      actor,
      { keyId: credential.keyId ?? undefined, org: orgId ?? undefined },
      { change },
    );
  } catch (error) {
    if (error instanceof AppError && error.code === "forbidden") throw error;
    throw notFound("The provider key");
  }
  return shown(credential);
}

export async function createCredential(
  db: Db,
  actor: Actor,
  query: CredentialOwnerQuery,
  input: CreateCredentialBody,
  { policy = defaultNetPolicy() }: { policy?: NetPolicy } = {},
): Promise<ProviderCredential> {
  const body = createCredentialBody.parse(input);
  const apiBase = body.apiBase === null ? null : await checkProviderBase(db, body.apiBase, policy);
  return inTransaction(db, async (tx) => {
    const owner = await credentialOwner(tx, actor, query, { change: true });
    const [taken] =
      await tx`select 1 from provider_credentials c where ${ownedBy(tx, owner)} and c.provider = ${body.provider}`;
    if (taken) throw conflict(`There is already a ${body.provider} key here: delete it first to replace it.`);
    const [row] = await tx<{ id: string }[]>`
      insert into provider_credentials (scope, key_id, user_id, organization_id, provider, label, api_base, api_version,
                                        secret_sealed, secret_hint, created_by)
      values (${owner.scope}, ${owner.keyId}, ${owner.userId}, ${owner.organizationId}, ${body.provider}, ${body.label},
              ${apiBase}, ${body.apiVersion}, ${sealCredential(body.secret)}, ${body.secret.slice(-4)}, ${actor.userId})
      returning id::text as id`;
    // The account's first credential turns the fallback choice from "not using own keys" to its default, refuse.
    await tx`update accounts set byok_fallback = false where id = ${owner.accountId} and byok_fallback is null`;
    const [created] = await tx<
      Row[]
    >`select ${columns(tx)} from provider_credentials c where c.id = ${row!.id}`;
    const credential = shown(created!);
    await recordAudit(tx, actor, {
      action: "provider_credential.create",
      targetType: "provider_credential",
      targetId: credential.id,
      after: credential,
    });
    return credential;
  });
}

export async function deleteCredential(db: Db, actor: Actor, id: string): Promise<void> {
  await inTransaction(db, async (tx) => {
    const before = await credentialFor(tx, actor, id, true);
    await tx`delete from provider_credentials where id = ${id}`;
    await recordAudit(tx, actor, {
      action: "provider_credential.delete",
      targetType: "provider_credential",
      targetId: id,
      before,
    });
  });
}

export async function setPlatformFallback(
  db: Db,
  actor: Actor,
  query: CredentialOwnerQuery,
  allow: boolean,
): Promise<{ allowPlatformFallback: boolean }> {
  if (query.keyId)
    throw new AppError("bad_request", "The platform fallback is the account's choice, not a key's.");
  return inTransaction(db, async (tx) => {
    const owner = await credentialOwner(tx, actor, query, { change: true });
    const [before] = await tx<{ fallback: boolean | null }[]>`
      select byok_fallback as fallback from accounts where id = ${owner.accountId} for update`;
    await tx`update accounts set byok_fallback = ${allow} where id = ${owner.accountId}`;
    await recordAudit(tx, actor, {
      action: "provider_credential.fallback",
      targetType: "account",
      targetId: owner.accountId,
      before: { allowPlatformFallback: before?.fallback ?? null },
      after: { allowPlatformFallback: allow },
    });
    return { allowPlatformFallback: allow };
  });
}

export { credentialFor as getCredential };
