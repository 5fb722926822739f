// The audit log's filters on real PostgreSQL: action or its prefix, the actor's email, the target, UTC days.
import { beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase } from "../helpers/db";
import { call } from "../helpers/http";
import { insertUser, signIn } from "../helpers/users";

const { sql } = await createTestDatabase();
let admin: string;

beforeAll(async () => {
  const adminId = await insertUser(sql, { email: "admin@example.com", role: "admin" });
  const otherId = await insertUser(sql, { email: "ops@example.com", role: "admin" });
  admin = await signIn("admin@example.com");
  const rows: [string, string, string, string][] = [
    [adminId, "key.create", "api_key", "2026-11-20T23:59:59Z"],
    [adminId, "key.revoke", "api_key", "2026-11-21T00:00:00Z"],
    [otherId, "user.suspend", "user", "2026-11-21T12:00:00Z"],
    [otherId, "plan.update", "plan", "2026-11-22T08:00:00Z"],
  ];
  for (const [actor, action, target, at] of rows)
    await sql`insert into audit_log (at, actor_id, action, target_type, target_id) values (${at}, ${actor}, ${action}, ${target}, 't1')`;
});

async function actions(query: string) {
  const { GET } = await import("@/app/api/v1/audit/route");
  const res = await call(GET, { cookie: admin, path: `/api/v1/audit?${query}` });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return (res.body.items as { action: string }[]).map((r) => r.action).filter((a) => a !== "session.create");
}

describe("audit filters", () => {
  it("match an action exactly or by its prefix (wildcards taken literally)", async () => {
    expect(await actions("action=key.")).toEqual(["key.revoke", "key.create"]);
    expect(await actions("action=key.create")).toEqual(["key.create"]);
    expect(await actions("action=%25")).toEqual([]);
  });

  it("match part of the actor's email, and the target type", async () => {
    expect(await actions("actor=ops@")).toEqual(["plan.update", "user.suspend"]);
    expect(await actions("targetType=api_key&actor=admin")).toEqual(["key.revoke", "key.create"]);
  });

  it("bound by UTC days, both ends inclusive", async () => {
    expect(await actions("from=2026-11-21&to=2026-11-21")).toEqual(["user.suspend", "key.revoke"]);
    expect(await actions("to=2026-11-20&action=key")).toEqual(["key.create"]);
    const { GET } = await import("@/app/api/v1/audit/route");
    expect((await call(GET, { cookie: admin, path: "/api/v1/audit?from=21-11-2026" })).status).toBe(422);
  });
});
