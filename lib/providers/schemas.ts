import { z } from "zod";

// Provider credentials (BYOK, issue 29): the providers, written once, and the API's bodies (no server-only: the pages
// import them too). The secret goes in and never comes out: answers carry a masked hint only.

export const PROVIDERS = {
  openai: "OpenAI",
  anthropic: "Anthropic",
  azure: "Azure OpenAI",
  gemini: "Google Gemini",
  openai_compatible: "OpenAI-compatible (vLLM, Ollama …)",
} as const;
export type Provider = keyof typeof PROVIDERS;
export const PROVIDER_IDS = Object.keys(PROVIDERS) as [Provider, ...Provider[]];

/** The providers that need a base URL (and, for Azure, an API version). */
export const NEEDS_BASE: readonly Provider[] = ["azure", "openai_compatible"];

export const CREDENTIAL_SCOPES = ["key", "member", "organization"] as const;
export type CredentialScope = (typeof CREDENTIAL_SCOPES)[number];

/** Whose credentials: an organization's (?org=slug), a key's (?keyId=…), else the caller's own (member scope). */
export const credentialOwnerQuery = z.strictObject({
  org: z.string().trim().min(1).max(64).optional(),
  keyId: z.uuid().optional(),
});
export type CredentialOwnerQuery = z.infer<typeof credentialOwnerQuery>;

export const createCredentialBody = z
  .strictObject({
    provider: z.enum(PROVIDER_IDS),
    label: z.string().trim().max(100).default(""),
    secret: z.string().trim().min(8, "the provider's key is at least 8 characters").max(4096),
    apiBase: z.string().trim().min(8).max(2048).nullable().default(null),
    apiVersion: z
      .string()
      .trim()
      .regex(/^[0-9A-Za-z.-]{1,40}$/, "an API version such as 2024-10-21")
      .nullable()
      .default(null),
  })
  .superRefine((v, ctx) => {
    const needsBase = NEEDS_BASE.includes(v.provider);
    if (needsBase && !v.apiBase)
      ctx.addIssue({
        code: "custom",
        path: ["apiBase"],
        message: `${PROVIDERS[v.provider]} needs a base URL`,
      });
    if (!needsBase && v.apiBase)
      ctx.addIssue({
        code: "custom",
        path: ["apiBase"],
        message: `${PROVIDERS[v.provider]} takes no base URL`,
      });
    if (v.provider !== "azure" && v.apiVersion)
      ctx.addIssue({ code: "custom", path: ["apiVersion"], message: "only Azure takes an API version" });
  });
export type CreateCredentialBody = z.input<typeof createCredentialBody>;

export const fallbackBody = z.strictObject({
  /** When a key has no usable credential of its own: serve with the platform's (billed at the price book) or refuse. */
  allowPlatformFallback: z.boolean(),
});

/** A credential as every answer shows it: masked, never the secret. */
export interface ProviderCredential {
  id: string;
  scope: CredentialScope;
  keyId: string | null;
  organizationId: string | null;
  provider: Provider;
  label: string;
  apiBase: string | null;
  apiVersion: string | null;
  masked: string;
  status: "active" | "invalid";
  lastError: string | null;
  lastCheckedAt: Date | null;
  createdAt: Date;
}

/** The gateway's question: the resolved credentials of one key. */
export const gatewayCredentialsBody = z.strictObject({ keyId: z.uuid() });

/** Hosts (names or addresses, no scheme or port) provider base URLs may name besides public https ones (admins). */
export const allowedHostsBody = z.strictObject({
  hosts: z
    .array(
      z
        .string()
        .trim()
        .min(1)
        .max(253)
        .regex(/^[A-Za-z0-9.:-]+$/, "a host name or address, without scheme, port or path"),
    )
    .max(50),
});
