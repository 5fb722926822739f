import "server-only";
import { request } from "undici";
import { recordAudit } from "@/lib/audit/record";
import type { Actor } from "@/lib/auth/types";
import { type Db, inTransaction } from "@/lib/db/client";
import { assertDeliverable, defaultNetPolicy, deliveryAgent, type NetPolicy } from "@/lib/webhooks/ssrf";
import { allowedProviderHosts } from "./base-url";
import { getCredential } from "./credentials";
import { openCredential } from "./crypto";
import type { Provider, ProviderCredential } from "./schemas";

// The "Test" button: the platform makes the smallest call the provider offers with the stored credential (its models
// list: no tokens spent) and records the outcome. A 401/403 marks the credential invalid; another failure is recorded
// as its last error and leaves its status. What is recorded is Tollgate's own sentence with the HTTP status, never the
// provider's answer (providers echo part of the key in it).

const BASES: Record<Exclude<Provider, "azure" | "openai_compatible">, string> = {
  openai: "https://api.openai.com/v1",
  anthropic: "https://api.anthropic.com/v1",
  gemini: "https://generativelanguage.googleapis.com/v1beta",
};

const TIMEOUT_MS = 10_000;

function modelsCall(
  provider: Provider,
  secret: string,
  apiBase: string | null,
  apiVersion: string | null,
): { url: URL; headers: Record<string, string> } {
  switch (provider) {
    case "anthropic":
      return {
        url: new URL(`${BASES.anthropic}/models?limit=1`),
        headers: { "x-api-key": secret, "anthropic-version": "2023-06-01" },
      };
    case "gemini":
      return { url: new URL(`${BASES.gemini}/models?pageSize=1`), headers: { "x-goog-api-key": secret } };
    case "azure":
      return {
        url: new URL(
          `${apiBase}/openai/models?api-version=${encodeURIComponent(apiVersion ?? "2024-10-21")}`,
        ),
        headers: { "api-key": secret },
      };
    case "openai_compatible":
      return { url: new URL(`${apiBase}/models`), headers: { authorization: `Bearer ${secret}` } };
    default:
      return { url: new URL(`${BASES.openai}/models`), headers: { authorization: `Bearer ${secret}` } };
  }
}

export interface TestOutcome {
  ok: boolean;
  status: number | null;
  message: string;
  credential: ProviderCredential;
}

export async function testCredential(
  db: Db,
  actor: Actor,
  id: string,
  { policy = defaultNetPolicy() }: { policy?: NetPolicy } = {},
): Promise<TestOutcome> {
  await getCredential(db, actor, id, true);
  const [row] = await db<
    { sealed: string; provider: Provider; apiBase: string | null; apiVersion: string | null }[]
  >`
    select secret_sealed as sealed, provider, api_base as "apiBase", api_version as "apiVersion"
    from provider_credentials where id = ${id}`;
  const call = modelsCall(row!.provider, openCredential(row!.sealed), row!.apiBase, row!.apiVersion);
  const allowed = (await allowedProviderHosts(db)).includes(call.url.hostname.toLowerCase());
  const effective = allowed ? { production: false } : policy;
  let status: number | null = null;
  let message: string;
  try {
    if (!allowed) assertDeliverable(call.url, policy);
    const res = await request(call.url, {
      method: "GET",
      headers: { ...call.headers, "user-agent": "tollgate-credential-test" },
      dispatcher: deliveryAgent(effective),
      headersTimeout: TIMEOUT_MS,
      bodyTimeout: TIMEOUT_MS,
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    await res.body.dump();
    status = res.statusCode;
    message =
      status < 300
        ? "The provider accepted this key."
        : status === 401 || status === 403
          ? `The provider refused this key (HTTP ${status}).`
          : `The provider answered HTTP ${status}.`;
  } catch (error) {
    message = `The provider could not be reached (${(error as { code?: string }).code ?? (error as Error).name}).`;
  }
  const ok = status !== null && status < 300;
  const refused = status === 401 || status === 403;
  return inTransaction(db, async (tx) => {
    await tx`
      update provider_credentials set
        status = case when ${ok} then 'active' when ${refused} then 'invalid' else status end,
        last_error = ${ok ? null : message}, last_checked_at = now()
      where id = ${id}`;
    const credential = await getCredential(tx, actor, id, false);
    await recordAudit(tx, actor, {
      action: "provider_credential.test",
      targetType: "provider_credential",
      targetId: id,
      after: { ok, status, message },
    });
    return { ok, status, message, credential };
  });
}
