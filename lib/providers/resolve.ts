import "server-only";
import type { Db } from "@/lib/db/client";
import { log } from "@/lib/log";
import { allowedProviderHosts } from "./base-url";
import { openCredential } from "./crypto";
import type { Provider } from "./schemas";

// The gateway's answer for one key (POST /api/internal/gateway/credentials): per provider, the first active
// credential of key → member (the key's person) → organization (the key's account's); and what to do for a provider
// with none. Only this answer carries a secret, over the gateway-secret channel; the gateway keeps it in process
// memory for its auth TTL, never in Redis, a log, a metric or its outbox.

export interface ResolvedCredential {
  id: string;
  scope: "key" | "member" | "organization";
  apiKey: string;
  apiBase: string | null;
  apiVersion: string | null;
  /** apiBase's host is one an admin allowed (Admin → Operator): in production the gateway calls no other own base. */
  hostAllowed: boolean;
}

export interface KeyCredentials {
  /** Per provider, the credential that serves the key's calls. */
  credentials: Partial<Record<Provider, ResolvedCredential>>;
  /** A provider with none: "platform" (the operator's credentials serve) or "refuse" (403, nothing reserved). */
  missing: "platform" | "refuse";
}

export async function resolveKeyCredentials(db: Db, keyId: string): Promise<KeyCredentials | null> {
  const [key] = await db<{ fallback: boolean | null }[]>`
    select a.byok_fallback as fallback from api_keys k join accounts a on a.id = k.account_id where k.id = ${keyId}`;
  if (!key) return null;
  const rows = await db<
    {
      id: string;
      scope: ResolvedCredential["scope"];
      provider: Provider;
      sealed: string;
      apiBase: string | null;
      apiVersion: string | null;
    }[]
  >`
    select distinct on (c.provider) c.id::text as id, c.scope, c.provider, c.secret_sealed as sealed,
           c.api_base as "apiBase", c.api_version as "apiVersion"
    from api_keys k join accounts a on a.id = k.account_id
    join provider_credentials c
      on (c.scope = 'key' and c.key_id = k.id) or (c.scope = 'member' and c.user_id = k.user_id)
      or (c.scope = 'organization' and c.organization_id = a.organization_id)
    where k.id = ${keyId} and c.status = 'active'
    order by c.provider, case c.scope when 'key' then 0 when 'member' then 1 else 2 end`;
  const credentials: KeyCredentials["credentials"] = {};
  const allowedHosts = rows.some((row) => row.apiBase) ? await allowedProviderHosts(db) : [];
  for (const row of rows) {
    try {
      credentials[row.provider] = {
        id: row.id,
        scope: row.scope,
        apiKey: openCredential(row.sealed),
        apiBase: row.apiBase,
        apiVersion: row.apiVersion,
        hostAllowed: allowedHosts.includes(hostOf(row.apiBase)),
      };
    } catch (error) {
      // An envelope key removed too early: the credential is skipped (as if missing), and the operator told.
      log().error({ credentialId: row.id, err: (error as Error).message }, "provider credential unreadable");
    }
  }
  return { credentials, missing: key.fallback === false ? "refuse" : "platform" };
}

function hostOf(base: string | null): string {
  try {
    return base ? new URL(base).hostname.toLowerCase() : "";
  } catch {
    return "";
  }
}
