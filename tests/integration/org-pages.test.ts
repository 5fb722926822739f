// What the organization pages read (lib/orgs/overview.ts) and the demo organization the seed makes, on real
// PostgreSQL: the overview's spend by member, key, model and day counts only the organization's calls, in the UTC
// month of tollgate_now(), everyone's for owners and billing members and one's own for members; a non-member learns
// nothing; the seed's Acme Labs is made once.
import { randomBytes } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import type { Actor } from "@/lib/auth/types";
import { createOrg } from "@/lib/orgs/create";
import { orgPage, orgSpend } from "@/lib/orgs/overview";
import { listMyOrgs } from "@/lib/orgs/read";
import { DEMO_DEVELOPER_EMAIL, DEMO_ORG, seedDemo } from "@/lib/seed/demo";
import { simulatedClock } from "../helpers/clock";
import { createTestDatabase } from "../helpers/db";
import { settleDayNow } from "../helpers/retention";
import { insertUser } from "../helpers/users";

const { sql } = await createTestDatabase();
// A moment half an hour into a UTC month: calls of the 27th of the month before count per day, not in the month.
const clock = simulatedClock(sql, "2026-03-01T00:30:00Z");
const NOW = clock.after(0);

const actor = (userId: string): Actor => ({ userId, kind: "user", role: "developer" });
let owner: string;
let member: string;
let biller: string;
let stranger: string;
let orgId: string;
let orgAccount: string;
let ownerKey: string;
let memberKey: string;

async function insertKey(userId: string, accountId: string, name: string) {
  const [key] = await sql<{ id: string }[]>`
    insert into api_keys (user_id, account_id, name, prefix, key_hash)
    values (${userId}, ${accountId}, ${name}, ${`tg_${randomBytes(4).toString("hex")}`}, ${randomBytes(32)})
    returning id`;
  return key!.id;
}

async function insertCall(
  keyId: string,
  accountId: string,
  model: string,
  startedAt: string,
  revenueMicros: bigint,
) {
  await sql`
    insert into usage_events (key_id, call_id, account_id, org, model_group, status, started_at, ended_at,
                              revenue_micros, cost_micros)
    values (${keyId}, ${randomBytes(8).toString("hex")}, ${accountId},
            (select true from accounts a where a.id = ${accountId} and a.kind = 'team'), ${model}, 'success',
            ${startedAt}, ${startedAt}, ${revenueMicros}, 0)`;
}

beforeAll(async () => {
  owner = await insertUser(sql, { email: "owner@example.com" });
  member = await insertUser(sql, { email: "member@example.com" });
  biller = await insertUser(sql, { email: "biller@example.com" });
  stranger = await insertUser(sql, { email: "stranger@example.com" });
  const org = await createOrg(sql, actor(owner), { name: "Initech", slug: "initech" });
  orgId = org.id;
  orgAccount = org.account.id;
  await sql`
    insert into organization_members (organization_id, user_id, role)
    values (${orgId}, ${member}, 'member'), (${orgId}, ${biller}, 'billing')`;
  ownerKey = await insertKey(owner, orgAccount, "owner's backend");
  memberKey = await insertKey(member, orgAccount, "member's script");
  const [personal] = await sql<{ id: string }[]>`select id from accounts where owner_user_id = ${owner}`;
  const personalKey = await insertKey(owner, personal!.id, "owner's own");
  await insertCall(ownerKey, orgAccount, "fake-small", "2026-03-01T00:10:00Z", 1_500n);
  await insertCall(memberKey, orgAccount, "fake-large", "2026-03-01T00:20:00Z", 2_500n);
  await insertCall(memberKey, orgAccount, "fake-small", "2026-03-01T00:25:00Z", 500n);
  // Last month: in the 30-day chart, not in this month's figures.
  await insertCall(memberKey, orgAccount, "fake-small", "2026-02-27T12:00:00Z", 700n);
  // The owner's own account: never the organization's.
  await insertCall(personalKey, personal!.id, "fake-small", "2026-03-01T00:15:00Z", 9_999n);
});

describe("an organization's overview", () => {
  it("shows its owner every member's spend this UTC month by member, key and model, and per day", async () => {
    const spend = await clock.at(NOW, async (db) =>
      orgSpend(db, actor(owner), await orgPage(db, actor(owner), "initech")),
    );
    expect(spend.scope).toBe("all");
    expect(spend.monthChargedMicros).toBe(4_500n);
    expect(spend.monthCalls).toBe(3);
    expect(spend.byMember.map((m) => [m.email, m.role, m.calls, m.chargedMicros])).toEqual([
      ["member@example.com", "member", 2, 3_000n],
      ["owner@example.com", "owner", 1, 1_500n],
      // Members who have not spent are listed too, at zero.
      ["biller@example.com", "billing", 0, 0n],
    ]);
    expect(spend.byKey.map((k) => [k.name, k.makerEmail, k.chargedMicros])).toEqual([
      ["member's script", "member@example.com", 3_000n],
      ["owner's backend", "owner@example.com", 1_500n],
    ]);
    expect(spend.byModel.map((m) => [m.model, m.calls, m.chargedMicros])).toEqual([
      ["fake-large", 1, 2_500n],
      ["fake-small", 2, 2_000n],
    ]);
    expect(spend.daily).toHaveLength(30);
    expect(spend.daily.at(-1)).toEqual({ day: "2026-03-01", calls: 3, chargedMicros: 4_500n });
    expect(spend.daily.find((d) => d.day === "2026-02-27")).toEqual({
      day: "2026-02-27",
      calls: 1,
      chargedMicros: 700n,
    });
    expect(spend.daily[0]!.day).toBe("2026-01-31");
  });

  it("shows a billing member everyone's spend, and a member only their own", async () => {
    const billing = await clock.at(NOW, async (db) =>
      orgSpend(db, actor(biller), await orgPage(db, actor(biller), "initech")),
    );
    expect(billing.scope).toBe("all");
    expect(billing.monthChargedMicros).toBe(4_500n);
    const own = await clock.at(NOW, async (db) => {
      const page = await orgPage(db, actor(member), "initech");
      expect(page.can).toMatchObject({
        seeAllUsage: false,
        ownKeys: true,
        manageMembers: false,
        billing: false,
      });
      return orgSpend(db, actor(member), page);
    });
    expect(own.scope).toBe("own");
    expect(own.monthChargedMicros).toBe(3_000n);
    expect(own.byMember.map((m) => [m.email, m.chargedMicros])).toEqual([["member@example.com", 3_000n]]);
    expect(own.byKey.map((k) => k.name)).toEqual(["member's script"]);
    expect(own.daily.find((d) => d.day === "2026-02-27")?.chargedMicros).toBe(700n);
  });

  it("counts the month again from zero once a new UTC month starts", async () => {
    // A call in the last second of March, read at the first instant of April.
    await insertCall(memberKey, orgAccount, "fake-small", "2026-03-31T23:59:59Z", 800n);
    const april = await clock.at("2026-04-01T00:00:00Z", async (db) =>
      orgSpend(db, actor(owner), await orgPage(db, actor(owner), "initech")),
    );
    expect(april.monthChargedMicros).toBe(0n);
    expect(april.byMember.every((m) => m.chargedMicros === 0n)).toBe(true);
    expect(april.byKey).toEqual([]);
    expect(april.daily.at(-2)).toEqual({ day: "2026-03-31", calls: 1, chargedMicros: 800n });
    expect(april.daily.at(-1)).toEqual({ day: "2026-04-01", calls: 0, chargedMicros: 0n });
  });

  it("reads a settled day from its roll-ups: a day whose detail its retention removed still counts, everywhere", async () => {
    // June: the 2nd settled (its roll-ups written by the settlement), then its detail gone as a short retention
    // takes it; the 10th, today, read from its calls.
    await insertCall(ownerKey, orgAccount, "fake-small", "2026-06-02T08:00:00Z", 1_000n);
    await insertCall(memberKey, orgAccount, "fake-large", "2026-06-02T09:00:00Z", 3_000n);
    await insertCall(memberKey, orgAccount, "fake-small", "2026-06-10T10:00:00Z", 400n);
    await settleDayNow(sql, "2026-06-02");
    await sql`delete from usage_events where started_at >= '2026-06-02' and started_at < '2026-06-03'`;

    const read = (who: string) =>
      clock.at("2026-06-10T12:00:00Z", async (db) =>
        orgSpend(db, actor(who), await orgPage(db, actor(who), "initech")),
      );
    const all = await read(owner);
    expect([all.monthCalls, all.monthChargedMicros]).toEqual([3, 4_400n]);
    expect(all.byModel.map((m) => [m.model, m.calls, m.chargedMicros])).toEqual([
      ["fake-large", 1, 3_000n],
      ["fake-small", 2, 1_400n],
    ]);
    expect(all.byMember.map((m) => [m.email, m.calls, m.chargedMicros])).toEqual([
      ["member@example.com", 2, 3_400n],
      ["owner@example.com", 1, 1_000n],
      ["biller@example.com", 0, 0n],
    ]);
    expect(all.byKey.map((k) => [k.name, k.calls, k.chargedMicros])).toEqual([
      ["member's script", 2, 3_400n],
      ["owner's backend", 1, 1_000n],
    ]);
    expect(all.daily.filter((d) => d.calls > 0)).toEqual([
      { day: "2026-06-02", calls: 2, chargedMicros: 4_000n },
      { day: "2026-06-10", calls: 1, chargedMicros: 400n },
    ]);
    // A member's own: their key's roll-ups only.
    const own = await read(member);
    expect([own.monthCalls, own.monthChargedMicros]).toEqual([2, 3_400n]);
    expect(own.byModel.map((m) => [m.model, m.chargedMicros])).toEqual([
      ["fake-large", 3_000n],
      ["fake-small", 400n],
    ]);
  });

  it("counts a call that arrived after its day was settled at once, in the month's total and by model too", async () => {
    // July: the 3rd settled with one call, then a late one arrives for it (an outbox's retry).
    await insertCall(ownerKey, orgAccount, "fake-small", "2026-07-03T08:00:00Z", 1_000n);
    await settleDayNow(sql, "2026-07-03");
    await insertCall(memberKey, orgAccount, "fake-large", "2026-07-03T09:00:00Z", 2_000n);
    const spend = await clock.at("2026-07-04T12:00:00Z", async (db) =>
      orgSpend(db, actor(owner), await orgPage(db, actor(owner), "initech")),
    );
    expect([spend.monthCalls, spend.monthChargedMicros]).toEqual([2, 3_000n]);
    expect(spend.byModel.map((m) => [m.model, m.calls, m.chargedMicros])).toEqual([
      ["fake-large", 1, 2_000n],
      ["fake-small", 1, 1_000n],
    ]);
    expect(spend.byMember.reduce((n, m) => n + m.chargedMicros, 0n)).toBe(spend.monthChargedMicros);
  });

  it("is a 404 to someone outside the organization, and names what each role may do", async () => {
    await expect(orgPage(sql, actor(stranger), "initech")).rejects.toMatchObject({ code: "not_found" });
    await expect(orgPage(sql, actor(stranger), orgId)).rejects.toMatchObject({ code: "not_found" });
    const billing = await orgPage(sql, actor(biller), "initech");
    expect(billing.can).toMatchObject({ ownKeys: false, billing: true, settings: false, seeAllUsage: true });
    const ownerPage = await orgPage(sql, actor(owner), "INITECH");
    expect(ownerPage.can).toMatchObject({ ownership: true, manageMembers: true, platformAdmin: false });
    expect(ownerPage.org.memberCount).toBe(3);
  });
});

describe("the demo seed", () => {
  it("makes Acme Labs once: owned by the demo developer, a capped teammate, funded", async () => {
    await seedDemo(sql, undefined, { pepper: process.env.KEY_PEPPER! });
    const again = await seedDemo(sql, undefined, { pepper: process.env.KEY_PEPPER! });
    expect(again.created).not.toContain(`organization ${DEMO_ORG.slug}`);
    const [dev] = await sql<{ id: string }[]>`select id from users where email = ${DEMO_DEVELOPER_EMAIL}`;
    const orgs = await listMyOrgs(sql, actor(dev!.id));
    expect(orgs.map((o) => [o.slug, o.name, o.role, o.memberCount, o.availableMicros])).toEqual([
      ["acme", "Acme Labs", "owner", 2, DEMO_ORG.balanceMicros],
    ]);
    const [teammate] = await sql`
      select m.role, m.daily_cap_micros, m.monthly_cap_micros from organization_members m
      join users u on u.id = m.user_id join organizations o on o.id = m.organization_id
      where o.slug = 'acme' and u.email = ${DEMO_ORG.teammate.email}`;
    expect(teammate).toEqual({
      role: "member",
      daily_cap_micros: 1_000_000n,
      monthly_cap_micros: 10_000_000n,
    });
  });
});
