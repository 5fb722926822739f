// The playground in an organization (issue 25), on real PostgreSQL: with ?org=<slug> it offers the models the
// organization's playground key may call (its plan, narrowed by its own list) — what key_models answers for that key
// and the gateway enforces — not the person's plan's; and saved conversations belong to the playground they were made
// in: one made in an organization is listed, opened, renamed and deleted there only, one's own stay one's own, and
// nobody else (another member, another organization, a billing member, an outsider) reaches either.
import { randomBytes } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { config } from "@/lib/config";
import { playgroundKeyFor } from "@/lib/playground/key";
import { playgroundModels } from "@/lib/playground/models";
import { seedPricedModel } from "../helpers/billing";
import { createTestDatabase } from "../helpers/db";
import { call } from "../helpers/http";
import { insertUser, signIn } from "../helpers/users";

const { sql } = await createTestDatabase();

const modelsRoute = () => import("@/app/api/v1/playground/models/route");
const conversationsRoute = () => import("@/app/api/v1/playground/conversations/route");
const conversationRoute = () => import("@/app/api/v1/playground/conversations/[id]/route");

type Person = { id: string; email: string; cookie: string };
const actorOf = (p: Person) => ({ userId: p.id, kind: "user" as const, role: "developer" as const });

async function person(label: string): Promise<Person> {
  const email = `${label}-${randomBytes(4).toString("hex")}@example.com`;
  const id = await insertUser(sql, { email });
  return { id, email, cookie: await signIn(email) };
}

/** An organization (its row, its team account on `planId` narrowed to `allowedModels`, its members). */
async function organization(
  name: string,
  members: [Person, string][],
  { planId = null, allowedModels = [] }: { planId?: string | null; allowedModels?: string[] } = {},
) {
  const slug = `${name.toLowerCase()}-${randomBytes(3).toString("hex")}`;
  const [org] = await sql<{ id: string }[]>`
    insert into organizations (name, slug, created_by) values (${name}, ${slug}, ${members[0]![0].id}) returning id`;
  const [account] = await sql<{ id: string }[]>`
    insert into accounts (kind, organization_id, plan_id, allowed_models)
    values ('team', ${org!.id}, ${planId}, ${allowedModels}) returning id`;
  for (const [who, role] of members) {
    await sql`insert into organization_members (organization_id, user_id, role) values (${org!.id}, ${who.id}, ${role})`;
  }
  return { id: org!.id, slug, accountId: account!.id };
}

const plan = async (name: string, allowedModels: string[]) =>
  (
    await sql<{ id: string }[]>`
      insert into plans (name, allowed_models) values (${name}, ${allowedModels}) returning id`
  )[0]!.id;

let owner: Person;
let member: Person;
let billing: Person;
let outsider: Person;
/** Acme: on the Team plan (fake-small, fake-large, fake-mid), narrowed by its own list to fake-small and fake-mid. */
let acme: { id: string; slug: string; accountId: string };
/** Globex: no plan, no list of its own: every enabled model. */
let globex: { id: string; slug: string; accountId: string };

beforeAll(async () => {
  for (const name of ["fake-small", "fake-large", "fake-mid", "fake-off"]) await seedPricedModel(sql, name);
  await sql`update models set enabled = false where public_name = 'fake-off'`;
  const team = await plan(`Team ${randomBytes(3).toString("hex")}`, ["fake-small", "fake-large", "fake-mid"]);
  const solo = await plan(`Solo ${randomBytes(3).toString("hex")}`, ["fake-large"]);
  owner = await person("owner");
  member = await person("member");
  billing = await person("billing");
  outsider = await person("outsider");
  // The member's own plan sells fake-large only: what their personal playground offers.
  await sql`update users set plan_id = ${solo} where id = ${member.id}`;
  acme = await organization(
    "Acme",
    [
      [owner, "owner"],
      [member, "member"],
      [billing, "billing"],
    ],
    { planId: team, allowedModels: ["fake-small", "fake-mid", "fake-off"] },
  );
  globex = await organization("Globex", [
    [outsider, "owner"],
    [member, "member"],
  ]);
});

const names = (body: { items: { name: string }[] }) => body.items.map((m) => m.name);

describe("the playground's models in an organization", () => {
  it("are what the organization's playground key may call, not the person's plan's", async () => {
    const { GET } = await modelsRoute();
    const own = await call(GET, { cookie: member.cookie, path: "/api/v1/playground/models" });
    expect(own.status).toBe(200);
    expect(names(own.body)).toEqual(["fake-large"]);

    const inAcme = await call(GET, {
      cookie: member.cookie,
      path: `/api/v1/playground/models?org=${acme.slug}`,
    });
    expect(inAcme.status).toBe(200);
    // The plan's three, narrowed by Acme's own list; fake-off is on the list but disabled.
    expect(names(inAcme.body)).toEqual(["fake-mid", "fake-small"]);
    expect(["fake-mid", "fake-small"]).toContain(inAcme.body.defaultModel);
    // The same models by id (the organization's id names it too) and for its owner: the key's rule, not the role's.
    const byId = await playgroundModels(sql, actorOf(member), acme.id);
    expect(byId.items.map((m) => m.name)).toEqual(["fake-mid", "fake-small"]);
    const owners = await playgroundModels(sql, actorOf(owner), acme.slug);
    expect(owners.items.map((m) => m.name)).toEqual(["fake-mid", "fake-small"]);

    // No plan and no list of its own: every enabled model.
    const inGlobex = await call(GET, {
      cookie: member.cookie,
      path: `/api/v1/playground/models?org=${globex.slug}`,
    });
    expect(names(inGlobex.body)).toEqual(["fake-large", "fake-mid", "fake-small"]);
  });

  it("agree with key_models for the organization's playground key, as the gateway is told", async () => {
    for (const org of [acme, globex]) {
      const key = await playgroundKeyFor(sql, actorOf(member), org.slug, { pepper: config().KEY_PEPPER });
      const [row] = await sql<{ models: string[] }[]>`select key_models(${key.id}) as models`;
      const offered = await playgroundModels(sql, actorOf(member), org.slug);
      expect(offered.items.map((m) => m.name)).toEqual(row!.models);
    }
    // A change of the organization's list is seen at once.
    await sql`update accounts set allowed_models = '{fake-mid}' where id = ${acme.accountId}`;
    try {
      const offered = await playgroundModels(sql, actorOf(member), acme.slug);
      expect(offered.items.map((m) => m.name)).toEqual(["fake-mid"]);
      expect(offered.defaultModel).toBe("fake-mid");
    } finally {
      await sql`update accounts set allowed_models = '{fake-small,fake-mid,fake-off}' where id = ${acme.accountId}`;
    }
  });

  it("are refused to a billing member (403) and to an outsider (404), as the chat route refuses them", async () => {
    const { GET } = await modelsRoute();
    const asBilling = await call(GET, {
      cookie: billing.cookie,
      path: `/api/v1/playground/models?org=${acme.slug}`,
    });
    expect(asBilling.status).toBe(403);
    const asOutsider = await call(GET, {
      cookie: outsider.cookie,
      path: `/api/v1/playground/models?org=${acme.slug}`,
    });
    expect(asOutsider.status).toBe(404);
    expect(asOutsider.body.error.code).toBe("not_found");
    const bad = await call(GET, { cookie: member.cookie, path: "/api/v1/playground/models?org=no%20such" });
    expect(bad.status).toBe(422);
  });
});

const SETTINGS = { model: "fake-small", system: "", temperature: "1", topP: "1", maxTokens: "64" };
const said = (text: string) => [
  { id: randomBytes(4).toString("hex"), role: "user", parts: [{ type: "text", text }] },
];

async function save(who: Person, title: string, org?: string) {
  const res = await call((await conversationsRoute()).POST, {
    cookie: who.cookie,
    path: `/api/v1/playground/conversations${org ? `?org=${org}` : ""}`,
    body: { title, settings: SETTINGS, messages: said(title) },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.conversation.id as string;
}

async function titles(who: Person, org?: string, q?: string) {
  const query = new URLSearchParams({ ...(q ? { q } : {}), ...(org ? { org } : {}) });
  const res = await call((await conversationsRoute()).GET, {
    cookie: who.cookie,
    path: `/api/v1/playground/conversations?${query}`,
  });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return (res.body.items as { title: string }[]).map((c) => c.title);
}

const one = async (
  method: "GET" | "PATCH" | "DELETE",
  who: Person,
  id: string,
  org?: string,
  body?: unknown,
) =>
  call((await conversationRoute())[method], {
    method,
    cookie: who.cookie,
    params: { id },
    path: `/api/v1/playground/conversations/${id}${org ? `?org=${org}` : ""}`,
    body,
  });

describe("saved conversations in an organization", () => {
  let personal: string;
  let inAcme: string;
  let inGlobex: string;

  beforeAll(async () => {
    personal = await save(member, "my own chat");
    inAcme = await save(member, "acme roadmap chat", acme.slug);
    inGlobex = await save(member, "globex chat", globex.id);
  });

  it("are kept by the playground they were made in: the organization's account, or none for one's own", async () => {
    const rows = await sql<{ title: string; account_id: string | null; user_id: string }[]>`
      select title, account_id, user_id from playground_conversations where user_id = ${member.id} order by title`;
    expect(rows).toEqual([
      { title: "acme roadmap chat", account_id: acme.accountId, user_id: member.id },
      { title: "globex chat", account_id: globex.accountId, user_id: member.id },
      { title: "my own chat", account_id: null, user_id: member.id },
    ]);
    expect(await titles(member)).toEqual(["my own chat"]);
    expect(await titles(member, acme.slug)).toEqual(["acme roadmap chat"]);
    expect(await titles(member, globex.slug)).toEqual(["globex chat"]);
    // Search stays within the playground too.
    expect(await titles(member, acme.slug, "chat")).toEqual(["acme roadmap chat"]);
    expect(await titles(member, undefined, "roadmap")).toEqual([]);
  });

  it("open, rename and delete only in their own playground (404 elsewhere, nothing changed)", async () => {
    expect((await one("GET", member, inAcme, acme.slug)).body.conversation.title).toBe("acme roadmap chat");
    expect((await one("GET", member, inAcme, acme.id)).status).toBe(200);
    expect((await one("GET", member, inAcme)).status).toBe(404);
    expect((await one("GET", member, inAcme, globex.slug)).status).toBe(404);
    expect((await one("GET", member, personal, acme.slug)).status).toBe(404);
    expect((await one("GET", member, personal)).body.conversation.title).toBe("my own chat");

    expect((await one("PATCH", member, inAcme, undefined, { title: "moved?" })).status).toBe(404);
    expect((await one("DELETE", member, inAcme, globex.slug)).status).toBe(404);
    expect((await one("DELETE", member, personal, acme.slug)).status).toBe(404);
    const [kept] = await sql`select title from playground_conversations where id = ${inAcme}`;
    expect(kept).toEqual({ title: "acme roadmap chat" });

    const renamed = await one("PATCH", member, inAcme, acme.slug, { title: "acme plans" });
    expect(renamed.status).toBe(200);
    expect(await titles(member, acme.slug)).toEqual(["acme plans"]);
    const gone = await one("DELETE", member, inGlobex, globex.slug);
    expect(gone.status).toBe(204);
    expect(await titles(member, globex.slug)).toEqual([]);
    expect(await titles(member)).toEqual(["my own chat"]);
  });

  it("stay the developer's own: other members of the organization never see them", async () => {
    expect(await titles(owner, acme.slug)).toEqual([]);
    expect((await one("GET", owner, inAcme, acme.slug)).status).toBe(404);
    expect((await one("DELETE", owner, inAcme, acme.slug)).status).toBe(404);
    const ownersOwn = await save(owner, "owner's acme chat", acme.slug);
    expect(await titles(member, acme.slug)).toEqual(["acme plans"]);
    expect((await one("GET", member, ownersOwn, acme.slug)).status).toBe(404);
  });

  it("are refused to a billing member (403) and an outsider (404), who write nothing", async () => {
    const [before] = await sql<{ n: number }[]>`select count(*)::int as n from playground_conversations`;
    const { GET, POST } = await conversationsRoute();
    const path = `/api/v1/playground/conversations?org=${acme.slug}`;
    expect((await call(GET, { cookie: billing.cookie, path })).status).toBe(403);
    const body = { title: "x", settings: SETTINGS, messages: said("x") };
    expect((await call(POST, { cookie: billing.cookie, path, body })).status).toBe(403);
    expect((await call(GET, { cookie: outsider.cookie, path })).status).toBe(404);
    expect((await call(POST, { cookie: outsider.cookie, path, body })).status).toBe(404);
    expect((await one("GET", outsider, inAcme, acme.slug)).status).toBe(404);
    const [after] = await sql<{ n: number }[]>`select count(*)::int as n from playground_conversations`;
    expect(after!.n).toBe(before!.n);
  });

  it("go out of reach with the membership: a member removed from the organization reads none of them", async () => {
    await sql`delete from organization_members where organization_id = ${globex.id} and user_id = ${member.id}`;
    const res = await call((await conversationsRoute()).GET, {
      cookie: member.cookie,
      path: `/api/v1/playground/conversations?org=${globex.slug}`,
    });
    expect(res.status).toBe(404);
    expect(await titles(member)).toEqual(["my own chat"]);
  });
});
