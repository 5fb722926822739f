import "server-only";
import { recordAudit } from "@/lib/audit/record";
import type { Actor } from "@/lib/auth/types";
import { type Db, inTransaction } from "@/lib/db/client";
import { assertAdmin } from "@/lib/users/assert-admin";
import { assertPublicTarget, defaultNetPolicy, type NetPolicy, parseEndpointUrl } from "@/lib/webhooks/ssrf";

// Where a stored credential may send calls (azure, openai_compatible): the customer webhooks' rule (lib/webhooks/
// ssrf.ts: in production https to public addresses only), or a host an admin allowed under Admin → Operator
// (operator_settings.provider_allowed_hosts: a self-hosted vLLM or Ollama on a private network).

export async function allowedProviderHosts(db: Db): Promise<string[]> {
  const [row] = await db<
    { hosts: string[] }[]
  >`select provider_allowed_hosts as hosts from operator_settings`;
  return row?.hosts ?? [];
}

/** The normalized base URL, or a 422 naming why not. */
export async function checkProviderBase(
  db: Db,
  text: string,
  policy: NetPolicy = defaultNetPolicy(),
): Promise<string> {
  let host: string | null = null;
  try {
    host = new URL(text).hostname.toLowerCase();
  } catch {
    // parseEndpointUrl names the problem
  }
  if (host && (await allowedProviderHosts(db)).includes(host))
    return new URL(text).toString().replace(/\/$/, "");
  const url = parseEndpointUrl(text, policy);
  await assertPublicTarget(url, policy);
  return url.toString().replace(/\/$/, "");
}

/** Admins set the hosts provider base URLs may name besides public https ones; audited with before and after. */
export async function setAllowedProviderHosts(
  db: Db,
  actor: Actor,
  hosts: string[],
): Promise<{ hosts: string[] }> {
  assertAdmin(actor);
  const wanted = [...new Set(hosts.map((h) => h.trim().toLowerCase()))].sort();
  return inTransaction(db, async (tx) => {
    const before = await allowedProviderHosts(tx);
    await tx`update operator_settings set provider_allowed_hosts = ${tx.array(wanted)}::text[]`;
    await recordAudit(tx, actor, {
      action: "operator.provider_hosts",
      targetType: "operator_settings",
      before: { hosts: before },
      after: { hosts: wanted },
    });
    return { hosts: wanted };
  });
}
