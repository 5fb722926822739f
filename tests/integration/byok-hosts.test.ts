// The gateway's credentials answer says, per credential, whether its base URL's host is one an admin allowed
// (hostAllowed): in production the gateway calls no other own base (issue 29's review: a base checked when stored can
// redirect or resolve elsewhere by call time). Real PostgreSQL, the domain verbs.
import { randomBytes, randomUUID } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { setAllowedProviderHosts } from "@/lib/providers/base-url";
import { createCredential } from "@/lib/providers/credentials";
import { resolveKeyCredentials } from "@/lib/providers/resolve";
import { insertKey } from "../helpers/billing";
import { createTestDatabase } from "../helpers/db";
import { insertUser } from "../helpers/users";

const { sql } = await createTestDatabase();
afterAll(() => sql.end());

const secret = () => `sk-${randomBytes(16).toString("hex")}`;

describe("the credentials answer's hostAllowed", () => {
  it("is true only for an own base whose host an admin allowed", async () => {
    const dev = await insertUser(sql, { email: `dev-${randomUUID()}@example.com` });
    const admin = await insertUser(sql, { email: `admin-${randomUUID()}@example.com`, role: "admin" });
    const keyId = await insertKey(sql, dev);
    const actor = { userId: dev, kind: "user" as const, role: "developer" as const };
    await createCredential(sql, actor, {}, { provider: "openai", secret: secret() });
    await createCredential(
      sql,
      actor,
      {},
      {
        provider: "openai_compatible",
        secret: secret(),
        apiBase: "https://vllm.example.net/v1",
      },
    );
    const before = (await resolveKeyCredentials(sql, keyId))!.credentials;
    expect([before.openai?.hostAllowed, before.openai_compatible?.hostAllowed]).toEqual([false, false]);
    await setAllowedProviderHosts(sql, { userId: admin, kind: "user", role: "admin" }, ["VLLM.example.net"]);
    const after = (await resolveKeyCredentials(sql, keyId))!.credentials;
    expect([after.openai?.hostAllowed, after.openai_compatible?.hostAllowed]).toEqual([false, true]);
    await setAllowedProviderHosts(sql, { userId: admin, kind: "user", role: "admin" }, ["other.example.net"]);
    expect((await resolveKeyCredentials(sql, keyId))!.credentials.openai_compatible?.hostAllowed).toBe(false);
  });
});
