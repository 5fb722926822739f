// Organizations set up in SQL for tests that need one before (or beside) the API that creates them (ADR 0016): the
// organization row, its team account funded by a balanced ledger transaction, members with their caps, and
// organization keys made with the platform's own secret and hash (lib/keys/secret.ts), so the gateway accepts them.
import { randomUUID } from "node:crypto";
import { creditAccount } from "@/lib/billing/ledger";
import type { Sql } from "@/lib/db/client";
import { generateKeySecret, hashKey, keyPrefix } from "@/lib/keys/secret";
import type { OrgRole } from "@/lib/orgs/access";

export interface OrgMemberSpec {
  role: OrgRole;
  dailyCapMicros?: bigint | null;
  monthlyCapMicros?: bigint | null;
  /** How many organization keys the member makes (default 1; billing members make none). */
  keys?: number;
}

export interface OrgKey {
  id: string;
  secret: string;
}

export interface TestOrgMember {
  userId: string;
  email: string;
  role: OrgRole;
  keys: OrgKey[];
}

export interface TestOrganization {
  id: string;
  slug: string;
  name: string;
  accountId: string;
  members: TestOrgMember[];
}

/** A developer with their own (empty) account, made by the users trigger. */
export async function insertDeveloper(sql: Sql, label = "member"): Promise<{ id: string; email: string }> {
  const email = `${label}-${randomUUID()}@example.com`;
  const [user] = await sql<{ id: string }[]>`
    insert into users (email, name, role) values (${email}, ${label}, 'developer') returning id`;
  return { id: user!.id, email };
}

/** Credits an account with a top-up: one balanced ledger transaction, as an admin's credit makes. */
export async function fundAccount(sql: Sql, accountId: string, amountMicros: bigint): Promise<void> {
  await creditAccount(
    sql,
    { userId: null, kind: "system" },
    { accountId, amountMicros, kind: "topup", reason: "test funding", idempotencyKey: randomUUID() },
  );
}

/**
 * An organization key: spends from the organization's account, made by (and attributed to) the member. Only the
 * keyed hash is stored, as lib/keys/create.ts stores it; the secret is returned for the client.
 */
export async function issueOrgKey(
  sql: Sql,
  {
    accountId,
    userId,
    pepper,
    name = "org key",
  }: { accountId: string; userId: string; pepper: string; name?: string },
): Promise<OrgKey> {
  const secret = generateKeySecret();
  const [row] = await sql<{ id: string }[]>`
    insert into api_keys (user_id, account_id, name, prefix, key_hash, created_by)
    values (${userId}, ${accountId}, ${name}, ${keyPrefix(secret)}, ${hashKey(secret, pepper)}, ${userId})
    returning id`;
  return { id: row!.id, secret };
}

/**
 * An organization with its team account funded with `balanceMicros`, and its members (the first must be the
 * owner) each with their caps and keys. Names and slugs are unique per call.
 */
export async function createTestOrganization(
  sql: Sql,
  {
    pepper,
    balanceMicros,
    members,
    name = "Test organization",
  }: { pepper: string; balanceMicros: bigint; members: OrgMemberSpec[]; name?: string },
): Promise<TestOrganization> {
  if (members[0]?.role !== "owner" || members.slice(1).some((m) => m.role === "owner"))
    throw new Error("createTestOrganization: the first member, and only the first, is the owner");
  const people: { id: string; email: string }[] = [];
  for (const [i, spec] of members.entries()) people.push(await insertDeveloper(sql, `${spec.role}${i}`));
  const slug = `org-${randomUUID().slice(0, 8)}`;
  const { id, accountId } = await sql.begin(async (tx) => {
    const [org] = await tx<{ id: string }[]>`
      insert into organizations (name, slug, created_by) values (${name}, ${slug}, ${people[0]!.id}) returning id`;
    const [account] = await tx<{ id: string }[]>`
      insert into accounts (kind, organization_id) values ('team', ${org!.id}) returning id`;
    for (const [i, spec] of members.entries()) {
      await tx`
        insert into organization_members (organization_id, user_id, role, daily_cap_micros, monthly_cap_micros,
                                          invited_by)
        values (${org!.id}, ${people[i]!.id}, ${spec.role}, ${spec.dailyCapMicros ?? null},
                ${spec.monthlyCapMicros ?? null}, ${i === 0 ? null : people[0]!.id})`;
    }
    return { id: org!.id, accountId: account!.id };
  });
  if (balanceMicros > 0n) await fundAccount(sql, accountId, balanceMicros);
  const result: TestOrganization = { id, slug, name, accountId, members: [] };
  for (const [i, spec] of members.entries()) {
    const keys = [];
    const count = spec.keys ?? (spec.role === "billing" ? 0 : 1);
    for (let k = 0; k < count; k++) {
      keys.push(
        await issueOrgKey(sql, {
          accountId,
          userId: people[i]!.id,
          pepper,
          name: `${spec.role}${i} key ${k + 1}`,
        }),
      );
    }
    result.members.push({ userId: people[i]!.id, email: people[i]!.email, role: spec.role, keys });
  }
  return result;
}

/** An organization member's cap windows as stored (the caps count reservations and charges in them). */
export async function memberWindows(sql: Sql, organizationId: string, userId: string) {
  const [row] = await sql<
    { day_used_micros: bigint; budget_day: string; month_used_micros: bigint; budget_month: string }[]
  >`
    select day_used_micros, budget_day::text, month_used_micros, budget_month::text from organization_members
    where organization_id = ${organizationId} and user_id = ${userId}`;
  return row ?? null;
}
