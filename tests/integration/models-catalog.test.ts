// Adding and editing models through POST /api/v1/models and PATCH /api/v1/models/:id against a gateway that answers
// LiteLLM's /v1/model/info (a small HTTP server here, answering as the proxy does): a group the gateway serves is
// added and audited; a group it does not serve, a name that is not its group, bad fields and a developer are refused
// and write nothing; an unreachable gateway refuses unless the admin saves without the check, which the audit says.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase } from "../helpers/db";
import { call } from "../helpers/http";
import { insertUser, signIn } from "../helpers/users";

const MASTER_KEY = "sk-models-test-master-0123456789";

/** What the gateway serves: LiteLLM's /v1/model/info entries (model_info.mode as the config sets it). */
let deployments = [
  {
    model_name: "gw-chat",
    litellm_params: { model: "openai/gw-chat", api_base: "http://upstream/v1" },
    model_info: { max_input_tokens: 16384, max_output_tokens: 4096 },
  },
  {
    model_name: "gw-embed",
    litellm_params: { model: "openai/gw-embed" },
    model_info: { mode: "embedding", max_input_tokens: 8192 },
  },
  { model_name: "gw-other", litellm_params: { model: "openai/gw-other" }, model_info: {} },
];
let gatewayUp = true;
const asked: string[] = [];

const gateway: Server = createServer((req, res) => {
  asked.push(`${req.method} ${req.url} ${req.headers.authorization ?? ""}`);
  if (!gatewayUp) {
    res.writeHead(502).end("bad gateway");
    return;
  }
  if (req.url !== "/v1/model/info" || req.headers.authorization !== `Bearer ${MASTER_KEY}`) {
    res.writeHead(401).end();
    return;
  }
  res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ data: deployments }));
});
await new Promise<void>((resolve) => gateway.listen(0, "127.0.0.1", resolve));
// Before anything reads lib/config (it parses the environment once).
process.env.LITELLM_URL = `http://127.0.0.1:${(gateway.address() as AddressInfo).port}`;
process.env.LITELLM_MASTER_KEY = MASTER_KEY;
// Cached as in production: a group missing from the cached list is asked for again.
process.env.MODEL_INFO_TTL_SECONDS = "30";
afterAll(() => new Promise<void>((resolve) => gateway.close(() => resolve())));

const { sql } = await createTestDatabase();
const models = await import("@/app/api/v1/models/route");
const model = await import("@/app/api/v1/models/[id]/route");
let admin: string;
let developer: string;

beforeAll(async () => {
  await insertUser(sql, { email: "admin@example.com", role: "admin" });
  await insertUser(sql, { email: "dev@example.com" });
  admin = await signIn("admin@example.com");
  developer = await signIn("dev@example.com");
});

const rowCounts = async () => {
  const [row] = await sql<{ models: number; audit: number }[]>`
    select (select count(*) from models)::int as models,
           (select count(*) from audit_log where target_type = 'model')::int as audit`;
  return row!;
};

const chat = {
  publicName: "gw-chat",
  litellmModelGroup: "gw-chat",
  provider: "openai",
  description: "A chat model the gateway serves",
  contextWindow: 16384,
  maxOutputTokens: 4096,
};

describe("POST /api/v1/models", () => {
  it("adds a model whose group the gateway serves, audited with the check it passed", async () => {
    const res = await call(models.POST, { cookie: admin, body: chat });
    expect(res.status).toBe(201);
    expect(res.body.model).toMatchObject({ publicName: "gw-chat", maxOutputTokens: 4096, enabled: true });
    expect(asked.some((a) => a.startsWith("GET /v1/model/info Bearer"))).toBe(true);
    const [audit] = await sql<{ action: string; after: { gatewayCheck: string; publicName: string } }[]>`
      select action, after from audit_log where target_id = ${res.body.model.id}`;
    expect(audit).toMatchObject({
      action: "model.create",
      after: { publicName: "gw-chat", gatewayCheck: "served by the gateway" },
    });
  });

  it("refuses a group the gateway does not serve, and writes nothing", async () => {
    const before = await rowCounts();
    const res = await call(models.POST, {
      cookie: admin,
      body: { ...chat, publicName: "gw-missing", litellmModelGroup: "gw-missing" },
    });
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe("validation_failed");
    expect(res.body.error.message).toContain("does not serve a model group named gw-missing");
    expect(res.body.error.issues).toEqual([
      { path: "litellmModelGroup", message: "the gateway does not serve this model group" },
    ]);
    expect(await rowCounts()).toEqual(before);
  });

  it("finds a group the gateway started serving after its list was read", async () => {
    deployments = [
      ...deployments,
      { model_name: "gw-new", litellm_params: { model: "openai/gw-new" }, model_info: {} },
    ];
    const res = await call(models.POST, {
      cookie: admin,
      body: { ...chat, publicName: "gw-new", litellmModelGroup: "gw-new" },
    });
    expect(res.status).toBe(201);
  });

  it.each([
    ["a name that is not its group", { ...chat, publicName: "gw-alias" }, "litellmModelGroup"],
    [
      "a max output past the window",
      { ...chat, publicName: "gw-other", litellmModelGroup: "gw-other", maxOutputTokens: 20000 },
      "maxOutputTokens",
    ],
    [
      "a window given as text",
      { ...chat, publicName: "gw-other", litellmModelGroup: "gw-other", contextWindow: "16384" },
      "contextWindow",
    ],
    [
      "a negative window",
      { ...chat, publicName: "gw-other", litellmModelGroup: "gw-other", contextWindow: -1 },
      "contextWindow",
    ],
    [
      "no provider",
      { ...chat, publicName: "gw-other", litellmModelGroup: "gw-other", provider: "" },
      "provider",
    ],
    [
      "a field no model has",
      { ...chat, publicName: "gw-other", litellmModelGroup: "gw-other", price: 1 },
      "(body)",
    ],
  ])("refuses %s with 422 and writes nothing", async (_name, body, path) => {
    const before = await rowCounts();
    const res = await call(models.POST, { cookie: admin, body });
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe("validation_failed");
    expect(res.body.error.issues.map((i: { path: string }) => i.path)).toContain(path);
    expect(await rowCounts()).toEqual(before);
  });

  it("refuses a name already in the catalog (409) and writes nothing", async () => {
    const before = await rowCounts();
    const res = await call(models.POST, { cookie: admin, body: chat });
    expect(res.status).toBe(409);
    expect(await rowCounts()).toEqual(before);
  });

  it("lets no developer add a model", async () => {
    const before = await rowCounts();
    const res = await call(models.POST, {
      cookie: developer,
      body: { ...chat, publicName: "gw-other", litellmModelGroup: "gw-other" },
    });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe("forbidden");
    expect(await rowCounts()).toEqual(before);
  });

  it("takes an embedding model without a max output: the window bounds it", async () => {
    const res = await call(models.POST, {
      cookie: admin,
      body: {
        publicName: "gw-embed",
        litellmModelGroup: "gw-embed",
        provider: "openai",
        contextWindow: 8192,
      },
    });
    expect(res.status).toBe(201);
    expect(res.body.model).toMatchObject({ contextWindow: 8192, maxOutputTokens: 8192 });
  });

  it("refuses while the gateway cannot be reached, unless the admin saves without the check", async () => {
    gatewayUp = false;
    try {
      const before = await rowCounts();
      const body = { ...chat, publicName: "gw-late", litellmModelGroup: "gw-late" };
      const refused = await call(models.POST, { cookie: admin, body });
      expect(refused.status).toBe(503);
      expect(refused.body.error.code).toBe("unavailable");
      expect(refused.body.error.message).toContain("could not be reached (gateway answered 502)");
      expect(await rowCounts()).toEqual(before);

      const saved = await call(models.POST, { cookie: admin, body: { ...body, skipGatewayCheck: true } });
      expect(saved.status).toBe(201);
      const [audit] = await sql<{ after: { gatewayCheck: string } }[]>`
        select after from audit_log where target_id = ${saved.body.model.id} and action = 'model.create'`;
      expect(audit!.after.gatewayCheck).toBe("not checked: gateway answered 502");
    } finally {
      gatewayUp = true;
    }
  });

  it("refuses a group the gateway answers it does not serve even with the check skipped", async () => {
    const res = await call(models.POST, {
      cookie: admin,
      body: { ...chat, publicName: "gw-gone", litellmModelGroup: "gw-gone", skipGatewayCheck: true },
    });
    expect(res.status).toBe(422);
    expect((await sql`select 1 from models where public_name = 'gw-gone'`).length).toBe(0);
  });
});

describe("PATCH /api/v1/models/:id", () => {
  const idOf = async (name: string) =>
    (await sql<{ id: string }[]>`select id from models where public_name = ${name}`)[0]!.id;

  it("edits what developers read and the limits, audited before and after", async () => {
    const id = await idOf("gw-chat");
    const res = await call(model.PATCH, {
      cookie: admin,
      params: { id },
      body: { description: "Edited", contextWindow: 32768, maxOutputTokens: 8192 },
    });
    expect(res.status).toBe(200);
    expect(res.body.model).toMatchObject({
      description: "Edited",
      contextWindow: 32768,
      maxOutputTokens: 8192,
    });
    const [audit] = await sql<{ before: { description: string }; after: { description: string } }[]>`
      select before, after from audit_log where target_id = ${id} and action = 'model.update'`;
    expect(audit).toMatchObject({
      before: { description: "A chat model the gateway serves" },
      after: { description: "Edited" },
    });
  });

  it.each([
    ["a max output past the window", { maxOutputTokens: 40000 }],
    ["a window below the max output", { contextWindow: 100 }],
    ["a new group (the name and group are fixed)", { litellmModelGroup: "gw-other" }],
    ["nothing to change", {}],
  ])("refuses %s with 422 and changes nothing", async (_name, body) => {
    const id = await idOf("gw-chat");
    const [before] = await sql`select * from models where id = ${id}`;
    const audits = await rowCounts();
    const res = await call(model.PATCH, { cookie: admin, params: { id }, body });
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe("validation_failed");
    expect((await sql`select * from models where id = ${id}`)[0]).toEqual(before);
    expect(await rowCounts()).toEqual(audits);
  });

  it("lets no developer edit a model", async () => {
    const id = await idOf("gw-chat");
    const res = await call(model.PATCH, { cookie: developer, params: { id }, body: { enabled: false } });
    expect(res.status).toBe(403);
    expect((await sql<{ enabled: boolean }[]>`select enabled from models where id = ${id}`)[0]!.enabled).toBe(
      true,
    );
  });
});

describe("GET /api/v1/models", () => {
  it("says which kinds each model is served for: those its price in force bills, none unpriced", async () => {
    const embed = (await sql<{ id: string }[]>`select id from models where public_name = 'gw-embed'`)[0]!.id;
    await sql`
      insert into price_versions (model_id, effective_from, input_cost_micros, output_cost_micros, input_price_micros,
                                  output_price_micros)
      values (${embed}, now() - interval '1 day', 10000, 0, 20000, 0)`;
    const res = await call(models.GET, { cookie: developer });
    expect(res.status).toBe(200);
    const kinds = Object.fromEntries(
      res.body.items.map((m: { publicName: string; kinds: string[] }) => [m.publicName, m.kinds]),
    );
    expect(kinds["gw-embed"]).toEqual(["embedding"]);
    expect(kinds["gw-chat"]).toEqual([]);
  });
});

describe("a model's page (getModel)", () => {
  it("shows a developer an enabled model and hides a disabled one as if it did not exist", async () => {
    const { getModel } = await import("@/lib/models/catalog");
    const [dev] = await sql<{ id: string }[]>`select id from users where email = 'dev@example.com'`;
    const [adm] = await sql<{ id: string }[]>`select id from users where email = 'admin@example.com'`;
    const asDeveloper = { userId: dev!.id, kind: "user" as const, role: "developer" as const };
    const asAdmin = { userId: adm!.id, kind: "user" as const, role: "admin" as const };
    const [embed] = await sql<{ id: string }[]>`select id from models where public_name = 'gw-embed'`;
    expect(await getModel(sql, asDeveloper, embed!.id)).toMatchObject({ publicName: "gw-embed" });
    await sql`update models set enabled = false where id = ${embed!.id}`;
    await expect(getModel(sql, asDeveloper, embed!.id)).rejects.toMatchObject({ code: "not_found" });
    expect(await getModel(sql, asAdmin, embed!.id)).toMatchObject({ publicName: "gw-embed", enabled: false });
  });
});
