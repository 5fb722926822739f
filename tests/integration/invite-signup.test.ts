// Sign-up by invitation on real PostgreSQL, through its route (issue 25: an invitation is "accepted by signing in or
// signing up with that email"): POST /api/auth/invitations/[token]/signup creates the invited email's developer
// account with its personal account, the membership with the invited role, the seat job, the audit entries and a
// session, once; a used, revoked or expired link is 410, an email with an account 409, a cross-site request 403, a
// weak password 422 — each writing nothing; failures are throttled per client address and per token; and the new
// member creates an organization key with the session they got.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { signUpByInvitation } from "@/lib/orgs/invitation-signup";
import { createInvitation } from "@/lib/orgs/invitations";
import { ORG_INVITE_EMAIL_JOB, ORG_SEAT_JOIN_JOB } from "@/lib/orgs/jobs";
import { simulatedClock } from "../helpers/clock";
import { createTestDatabase } from "../helpers/db";
import { type CallOptions, call, sessionCookieFrom } from "../helpers/http";
import { insertUser, signIn } from "../helpers/users";

// One proxy hop is trusted, so each test names its client address (X-Forwarded-For) and the throttle counts it alone.
process.env.TRUSTED_PROXY = "1";
process.env.LOGIN_MAX_ATTEMPTS_PER_IP = "6";
process.env.LOGIN_MAX_ATTEMPTS_PER_EMAIL = "4";
// One owner makes an organization per test here, more than a developer may own (that limit: org-security.test.ts).
process.env.ORG_MAX_OWNED_PER_USER = "100";
const { sql } = await createTestDatabase();
const PEPPER = process.env.KEY_PEPPER!;
const DAY_MS = 86_400_000;
const STRONG = "a-long-enough-password";

const signupRoute = () => import("@/app/api/auth/invitations/[token]/signup/route");
const orgsRoute = () => import("@/app/api/v1/orgs/route");
const invitationsRoute = () => import("@/app/api/v1/orgs/[org]/invitations/route");
const invitationRoute = () => import("@/app/api/v1/orgs/[org]/invitations/[id]/route");
const inviteRoute = () => import("@/app/api/v1/invitations/[token]/route");
const orgKeysRoute = () => import("@/app/api/v1/orgs/[org]/keys/route");
const meRoute = () => import("@/app/api/v1/me/route");

let ownerId: string;
let ownerCookie: string;
let ipSeq = 0;
/** A client address of its own, so one test's failures never throttle another's. */
const freshIp = () => `10.0.${Math.floor(++ipSeq / 250)}.${(ipSeq % 250) + 1}`;

type Handlers = Record<string, unknown>;
async function as(
  cookie: string | undefined,
  route: () => Promise<Handlers>,
  method: "GET" | "POST" | "DELETE",
  options: CallOptions = {},
) {
  return call((await route())[method] as Parameters<typeof call>[0], { method, cookie, ...options });
}

function signup(token: string, body: unknown, options: CallOptions & { ip?: string } = {}) {
  const { ip = freshIp(), ...rest } = options;
  return as(undefined, signupRoute, "POST", {
    params: { token },
    body,
    ...rest,
    headers: { "x-forwarded-for": ip, "user-agent": "invite-signup-test", ...rest.headers },
  });
}

async function newOrg() {
  const res = await as(ownerCookie, orgsRoute, "POST", {
    body: { name: `Team ${randomUUID().slice(0, 8)}` },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.organization as { id: string; slug: string; name: string; account: { id: string } };
}

/** Invites `email` as the owner; the token from the queued email job, as the email would carry it. */
async function invite(slug: string, email: string, role = "member") {
  const res = await as(ownerCookie, invitationsRoute, "POST", {
    params: { org: slug },
    body: { email, role },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return { id: res.body.invitation.id as string, token: await tokenOf(res.body.invitation.id) };
}

async function tokenOf(invitationId: string): Promise<string> {
  const [job] = await sql<{ payload: { token: string } }[]>`
    select payload from queue_jobs where name = ${ORG_INVITE_EMAIL_JOB} and payload->>'invitationId' = ${invitationId}`;
  return job!.payload.token;
}

/** What a refused sign-up must leave as it was: users, accounts, sessions, members, invitations, audit, queue. */
async function fingerprint() {
  const [row] = await sql`
    select (select count(*) from users)::int as users, (select count(*) from accounts)::int as accounts,
           (select count(*) from sessions)::int as sessions,
           (select count(*) from organization_members)::int as members,
           (select count(*) from organization_invitations where accepted_at is not null)::int as accepted,
           (select count(*) from audit_log)::int as audit, (select count(*) from queue_jobs)::int as jobs`;
  return row;
}

beforeAll(async () => {
  ownerId = await insertUser(sql, { email: "owner@example.com" });
  ownerCookie = await signIn("owner@example.com");
});

afterAll(() => {
  vi.unstubAllEnvs();
});

describe("sign-up by invitation", () => {
  it("creates the account, its session and the membership once; the link then answers 410", async () => {
    const org = await newOrg();
    const { id: invitationId, token } = await invite(org.slug, "New.Person@Example.com", "member");
    // The link tells its holder that the email has no account yet (a signed-in viewer, through the API).
    const viewer = await as(ownerCookie, inviteRoute, "GET", { params: { token } });
    expect(viewer.body.invitation).toMatchObject({ email: "new.person@example.com", accountExists: false });

    const res = await signup(token, { name: "  New Person ", password: STRONG });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toEqual({
      user: {
        id: expect.any(String),
        email: "new.person@example.com",
        name: "New Person",
        role: "developer",
      },
      organization: { id: org.id, name: org.name, slug: org.slug },
      role: "member",
    });
    const userId = res.body.user.id as string;
    expect(res.headers.get("set-cookie")).toMatch(/^tg_session=[^;]+; Path=\/; HttpOnly; SameSite=Lax/);

    // The user, with the password they chose, their personal account, one session, the membership and its seat job.
    const [user] = await sql`select email, name, role, status, password_hash is not null as has_password
                             from users where id = ${userId}`;
    expect(user).toEqual({
      email: "new.person@example.com",
      name: "New Person",
      role: "developer",
      status: "active",
      has_password: true,
    });
    expect(await sql`select kind from accounts where owner_user_id = ${userId}`).toEqual([{ kind: "user" }]);
    expect(
      await sql`select user_agent from sessions where user_id = ${userId} and revoked_at is null`,
    ).toEqual([{ user_agent: "invite-signup-test" }]);
    expect(
      await sql`select role, invited_by from organization_members
                where organization_id = ${org.id} and user_id = ${userId}`,
    ).toEqual([{ role: "member", invited_by: ownerId }]);
    expect(
      await sql`select 1 from queue_jobs where name = ${ORG_SEAT_JOIN_JOB}
                and payload = ${sql.json({ organizationId: org.id, userId })}`,
    ).toHaveLength(1);
    const [taken] =
      await sql`select accepted_by, accepted_at is not null as accepted from organization_invitations where id = ${invitationId}`;
    expect(taken).toEqual({ accepted_by: userId, accepted: true });
    const audit = await sql`
      select actor_id, actor_kind, action, target_id from audit_log
      where action in ('user.create', 'org.invitation.accept') and (target_id = ${userId} or target_id = ${org.id})
      order by id`;
    expect(audit).toEqual([
      { actor_id: null, actor_kind: "system", action: "user.create", target_id: userId },
      { actor_id: userId, actor_kind: "user", action: "org.invitation.accept", target_id: org.id },
    ]);
    expect(JSON.stringify(await sql`select after from audit_log`)).not.toContain(token);
    expect(JSON.stringify(await sql`select after from audit_log`)).not.toContain(STRONG);

    // The cookie signs them in; with it they make a key on the organization's account, as a member.
    const cookie = sessionCookieFrom(res);
    const me = await as(cookie, meRoute, "GET");
    expect(me.status).toBe(200);
    expect(me.body.user).toMatchObject({ id: userId, email: "new.person@example.com" });
    const key = await as(cookie, orgKeysRoute, "POST", {
      params: { org: org.slug },
      body: { name: "first" },
    });
    expect(key.status, JSON.stringify(key.body)).toBe(201);
    expect(
      await sql`select user_id, account_id from api_keys where name = 'first' and user_id = ${userId}`,
    ).toEqual([{ user_id: userId, account_id: org.account.id }]);

    // A second sign-up with the same link: 410 used, nothing written.
    const before = await fingerprint();
    const again = await signup(token, { name: "Someone Else", password: STRONG });
    expect(again.status).toBe(410);
    expect(again.body.error).toMatchObject({ code: "gone", state: "accepted" });
    expect(again.headers.get("set-cookie")).toBeNull();
    expect(await fingerprint()).toEqual(before);
  });

  it("at the same moment, three sign-ups with one link make one account and one member", async () => {
    for (let round = 0; round < 3; round++) {
      const org = await newOrg();
      const email = `race-${round}@example.com`;
      const { token } = await invite(org.slug, email);
      const results = await Promise.all(
        [1, 2, 3].map((n) => signup(token, { name: `Racer ${n}`, password: STRONG })),
      );
      expect(results.map((r) => r.status).sort()).toEqual([201, 410, 410]);
      expect(await sql`select 1 from users where email = ${email}`).toHaveLength(1);
      expect(await sql`select 1 from organization_members where organization_id = ${org.id}`).toHaveLength(2);
    }
  });

  it("refuses an email that has an account with 409 (sign in to accept), writing nothing", async () => {
    await insertUser(sql, { email: "has-account@example.com" });
    const org = await newOrg();
    const { token } = await invite(org.slug, "has-account@example.com");
    const viewer = await as(ownerCookie, inviteRoute, "GET", { params: { token } });
    expect(viewer.body.invitation.accountExists).toBe(true);
    const before = await fingerprint();
    const res = await signup(token, { name: "Impostor", password: STRONG });
    expect(res.status).toBe(409);
    expect(res.body.error.message).toBe(
      "An account with this email exists: sign in to accept the invitation.",
    );
    expect(res.headers.get("set-cookie")).toBeNull();
    expect(await fingerprint()).toEqual(before);
  });

  it("refuses a cross-site request (403) and one without Origin, writing nothing", async () => {
    const org = await newOrg();
    const { token } = await invite(org.slug, "csrf@example.com");
    const before = await fingerprint();
    const evil = await signup(
      token,
      { name: "Victim", password: STRONG },
      { origin: "https://evil.example" },
    );
    expect(evil.status).toBe(403);
    expect(evil.body.error.code).toBe("cross_site_request");
    const none = await signup(token, { name: "Victim", password: STRONG }, { origin: null });
    expect(none.status).toBe(403);
    expect(await fingerprint()).toEqual(before);
    // The same link still works from the dashboard's origin.
    expect((await signup(token, { name: "Real", password: STRONG })).status).toBe(201);
  });

  it("refuses a weak password or a bad body with 422, writing nothing", async () => {
    const org = await newOrg();
    const { token } = await invite(org.slug, "weak@example.com");
    const before = await fingerprint();
    const weak = await signup(token, { name: "Weak", password: "short-pass" });
    expect(weak.status).toBe(422);
    expect(weak.body.error.issues).toEqual([{ path: "password", message: "must be at least 12 characters" }]);
    expect((await signup(token, { name: "", password: STRONG })).status).toBe(422);
    // The email is the invitation's: a body naming another one is refused, not obeyed.
    const other = await signup(token, { name: "Other", password: STRONG, email: "other@example.com" });
    expect(other.status).toBe(422);
    expect(await fingerprint()).toEqual(before);
  });

  it("answers 410 for a revoked or expired link and 404 for an unknown one, writing nothing", async () => {
    const org = await newOrg();
    const revoked = await invite(org.slug, "revoked@example.com");
    const gone = await as(ownerCookie, invitationRoute, "DELETE", {
      params: { org: org.slug, id: revoked.id },
    });
    expect(gone.status).toBe(200);
    // An invitation sent eight days ago (the injected clock) ran out yesterday.
    const clock = simulatedClock(sql, new Date(Date.now() - 8 * DAY_MS).toISOString());
    const owner = { userId: ownerId, kind: "user" as const, role: "developer" as const };
    const old = await clock.at(clock.start.toISOString(), (db) =>
      createInvitation(
        db,
        owner,
        org.slug,
        { email: "late@example.com", role: "member" },
        { pepper: PEPPER },
      ),
    );
    const before = await fingerprint();
    const r = await signup(revoked.token, { name: "Revoked", password: STRONG });
    expect([r.status, r.body.error.state]).toEqual([410, "revoked"]);
    const e = await signup(await tokenOf(old.id), { name: "Late", password: STRONG });
    expect([e.status, e.body.error.state]).toEqual([410, "expired"]);
    expect((await signup("x".repeat(43), { name: "Guess", password: STRONG })).status).toBe(404);
    expect((await signup("short", { name: "Guess", password: STRONG })).status).toBe(404);
    expect(await fingerprint()).toEqual(before);
  });

  it("expires with the invitation: a second before its 7 days it signs up, a second after 410", async () => {
    const org = await newOrg();
    const clock = simulatedClock(sql, new Date().toISOString());
    const { token } = await invite(org.slug, "edge@example.com");
    const { token: token2 } = await invite(org.slug, "edge-2@example.com");
    const options = {
      pepper: PEPPER,
      ttlHours: 1,
      limits: { perIp: 100, perToken: 100, windowSeconds: 900 },
    };
    const client = { ip: "10.9.9.9", userAgent: "clock" };
    const input = { name: "Edge", password: STRONG };
    // The invitation was created a moment after the clock's start: 7 days after the start it is still pending.
    const inTime = await clock.at(clock.after(7 * DAY_MS), (db) =>
      signUpByInvitation(db, token, input, client, options),
    );
    expect(inTime.user.email).toBe("edge@example.com");
    const before = await fingerprint();
    await expect(
      clock.at(clock.after(7 * DAY_MS + 60_000), (db) =>
        signUpByInvitation(db, token2, input, client, options),
      ),
    ).rejects.toMatchObject({ code: "gone", status: 410, details: { state: "expired" } });
    expect(await fingerprint()).toEqual(before);
  });

  it("counts failures per client address and per link (429), so links cannot be probed; a success counts none", async () => {
    const org = await newOrg();
    const { token } = await invite(org.slug, "probe-target@example.com");
    // Six guesses from one address (LOGIN_MAX_ATTEMPTS_PER_IP here) answer 404; the seventh, and even the real
    // link from that address, 429 with Retry-After — nothing written.
    const prober = freshIp();
    for (let i = 0; i < 6; i++) {
      const guess = randomUUID().replaceAll("-", "").padEnd(43, "A");
      expect((await signup(guess, { name: "Guess", password: STRONG }, { ip: prober })).status).toBe(404);
    }
    const before = await fingerprint();
    const refused = await signup(token, { name: "Target", password: STRONG }, { ip: prober });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(await fingerprint()).toEqual(before);
    // From another address the link works.
    expect((await signup(token, { name: "Target", password: STRONG })).status).toBe(201);

    // Failures with one link from many addresses: four (LOGIN_MAX_ATTEMPTS_PER_EMAIL here), then 429.
    await insertUser(sql, { email: "taken@example.com" });
    const { token: taken } = await invite(org.slug, "taken@example.com");
    for (let i = 0; i < 4; i++)
      expect((await signup(taken, { name: "T", password: STRONG })).status).toBe(409);
    expect((await signup(taken, { name: "T", password: STRONG })).status).toBe(429);

    // Successes give their attempt back: more sign-ups from one address than its limit all succeed.
    const office = freshIp();
    for (let i = 0; i < 8; i++) {
      const { token: t } = await invite(org.slug, `office-${i}@example.com`);
      expect((await signup(t, { name: `Office ${i}`, password: STRONG }, { ip: office })).status).toBe(201);
    }
  });

  it("is refused under Supabase sign-in: those users sign in through Supabase, then accept", async () => {
    const org = await newOrg();
    const { token } = await invite(org.slug, "supabase-user@example.com");
    vi.stubEnv("AUTH_PROVIDER", "supabase");
    vi.stubEnv("NEXT_PUBLIC_SUPABASE_URL", "http://127.0.0.1:1");
    vi.stubEnv("NEXT_PUBLIC_SUPABASE_ANON_KEY", "anon-key");
    vi.stubEnv("SUPABASE_JWT_SECRET", "supabase-test-jwt-secret-with-at-least-32-characters");
    vi.resetModules();
    try {
      const before = await fingerprint();
      const res = await signup(token, { name: "Supa", password: STRONG });
      expect(res.status).toBe(400);
      expect(res.body.error.message).toContain("sign in with the invited email");
      expect(await fingerprint()).toEqual(before);
    } finally {
      vi.unstubAllEnvs();
      vi.resetModules();
    }
  });
});
