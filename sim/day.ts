// sim/day: one UTC day at seed 002's scale (issue 27, part 7), end to end through the real platform.
//
// 1. Sets up 100,000 keys over persons and 1,000 organizations (set-based SQL: users, organizations with their
//    members, keys, a funding top-up through the ledger, the gateway processes' balance leases and the holds of
//    the keys billed per call), on an embedded PostgreSQL of its own.
// 2. Pushes N usage events (default 10,000,000) through the REAL signed webhook route (POST /api/webhooks/litellm,
//    HMAC-signed as the gateway's outbox signs) to `next start`, in batches of 1,000 with a bounded concurrency: every
//    call kind, streams, 2 % failures, cut streams, cache hits, masked PII, calls drawn from leases or held per call;
//    batches sent out of order (shuffled in windows) and already-sent batches sent again (replays must change
//    nothing). The calls are spread over one UTC day of a fixed simulated date (SIM_DAY, never today's).
// 3. Returns the gateways' leases, then settles the day through the queue as cron does (GET /api/cron/settle, then
//    GET /api/cron/drain until the run completes), timed.
// 4. Synthesizes the roll-ups of the 29 days before (usage_hourly, usage_rollups, completed settlement runs:
//    set-based copies of the simulated day's) and reads the dashboard through the functions its pages call:
//    overview, 30-day analytics, request log first page and a page half the day deep by cursor (p95 of 20 each).
// 5. Prints a table and (full runs) writes it into docs/benchmarks.md between <!-- bench:sim-day --> markers.
//
//   npm run sim:day                              10M events; resumes from .data/sim-day/checkpoint.json
//   npm run sim:day -- --events 1000000          (or --scale 0.1); --fresh starts over; --concurrency 4
//   npm run sim:day -- --no-docs                 print only
//
// Bounded and local: PostgreSQL and the platform listen on 127.0.0.1 only; the only traffic is to them. Resumable:
// every window of batches completed is written to the checkpoint, and a rerun with the same size continues there
// (a batch in flight when it stopped is sent again: a replay, harmless). A rerun with another size starts over.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import path from "node:path";
import { overview } from "@/lib/analytics/overview";
import { listRequests } from "@/lib/analytics/requests";
import { resolveRange, usageBreakdown, usageSeries, usageTotals } from "@/lib/analytics/usage";
import type { Actor } from "@/lib/auth/types";
import { returnLease } from "@/lib/billing/leases";
import { checkLedgerInvariants } from "@/lib/billing/ledger";
import { createClient, type Db, type Sql } from "@/lib/db/client";
import { startEmbeddedPostgres } from "@/lib/db/embedded";
import { migrate } from "@/lib/db/migrate";
import { SIGNATURE_HEADER, signWebhook } from "@/lib/http/webhook-signature";
import { ProcessGroup } from "@/scripts/stack/processes";
import { f1, machine, percentile, writeSection } from "../bench/lib";

/** The simulated day: fixed, in the past, so the day has ended (settlement settles only ended days). */
export const SIM_DAY = "2026-11-02";
export const BATCH = 1_000;
const WINDOW = 16; // batches shuffled together: out-of-order delivery within 16 batches
const DAY_MS = 86_400_000;
const SYSTEM: Actor = { userId: null, kind: "system" };
// Secrets of this local stack only (like the test stack's): nothing leaves 127.0.0.1.
const SECRETS = {
  SESSION_SECRET: "sim-day-session-secret-0123456789abcdef012345",
  GATEWAY_SECRET: "sim-day-gateway-secret-0123456789abcdef012345",
  KEY_PEPPER: "sim-day-key-pepper-0123456789abcdef0123456789",
  WEBHOOK_SECRET: "sim-day-webhook-secret-0123456789abcdef012345",
  CRON_SECRET: "sim-day-cron-secret-0123456789abcdef0123456789",
  LITELLM_MASTER_KEY: "sk-sim-day-master-0123456789abcdef",
};

export interface SimDayOptions {
  events: number;
  keys: number;
  orgs: number;
  persons: number;
  day: string;
  stateDir: string;
  pgPort: number;
  appPort: number;
  concurrency: number;
  /** Start over (drop the database and the checkpoint). */
  fresh: boolean;
  /** fsync and synchronous_commit off (tests); the full run measures durable commits. */
  fastDurability: boolean;
  /** Reads per dashboard view for its p95. */
  reads: number;
  /** Days of roll-ups synthesized before the simulated day. */
  rollupDays: number;
  log: (line: string) => void;
  /** Print progress lines this often (ms). */
  progressMs: number;
}

export const DEFAULTS: SimDayOptions = {
  events: 10_000_000,
  keys: 100_000,
  orgs: 1_000,
  persons: 50_000,
  day: SIM_DAY,
  stateDir: path.resolve(".data/sim-day"),
  pgPort: 25731,
  appPort: 3330,
  concurrency: 4,
  fresh: false,
  fastDurability: false,
  reads: 20,
  rollupDays: 29,
  log: (line) => console.log(line),
  progressMs: 10_000,
};

// --- deterministic traffic ----------------------------------------------------------------------------------

/** A small fast PRNG (mulberry32) seeded per event: any event can be rebuilt from its index alone. */
function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const int = (r: () => number, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));

/** The price book of the simulation (µ$ per million tokens / per image / per audio second / per million chars). */
export const MODELS = [
  {
    name: "sim-small",
    input: 500_000,
    output: 1_500_000,
    kinds: ["chat", "completion", "responses", "messages"],
  },
  { name: "sim-large", input: 3_000_000, output: 15_000_000, kinds: ["chat", "responses", "messages"] },
  { name: "sim-embed", input: 100_000, output: 0, kinds: ["embedding"] },
  { name: "sim-image", input: 0, output: 0, image: 40_000, kinds: ["image"] },
  { name: "sim-tts", input: 0, output: 0, characters: 15_000_000, kinds: ["speech"] },
  { name: "sim-stt", input: 0, output: 0, audioSecond: 100, kinds: ["transcription"] },
] as const;

const KIND_MIX: [string, number][] = [
  ["chat", 0.6],
  ["responses", 0.1],
  ["messages", 0.1],
  ["completion", 0.03],
  ["embedding", 0.12],
  ["image", 0.02],
  ["speech", 0.015],
  ["transcription", 0.015],
];
const ERRORS = ["RateLimitError", "APIConnectionError", "Timeout", "InternalServerError", "BadRequestError"];

export type KeyClass = "lease" | "hold" | "plain";
/** Which way the gateway reserves for a key: the busiest 5 % of keys (a third of the calls) draw from gateway
 *  processes' leases, 1 in 100 keys are held per call (plans that count requests), the rest are charged unreserved
 *  (gateways before leases). */
export const keyClass = (k: number, keys: number): KeyClass =>
  k % 100 === 2 ? "hold" : k < Math.max(1, Math.floor(keys / 20)) ? "lease" : "plain";

export interface SimEvent {
  callId: string;
  keyIndex: number;
  modelGroup: string;
  providerModel: string;
  status: "success" | "cut" | "failure";
  stream: boolean;
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
  startedAt: string;
  endedAt: string;
  firstTokenAt: string | null;
  errorClass: string | null;
  kind: string;
  images: number;
  audioMs: number;
  characters: number;
  imageSize: string | null;
  imageQuality: string | null;
  cacheHit: boolean;
  piiMasked: Record<string, number>;
  safetyScore: number | null;
  /** The call's worst case (what its lease draw or hold reserves), µ$, and the output tokens the hold asked for. */
  worstMicros: number;
  maxOutputTokens: number;
}

/**
 * Call i's id as the gateway makes one (a UUIDv7 of the call's millisecond, docs/adr/0028: each call claimed by its
 * row in its day's partition, docs/adr/0032), its random bits the call's index: the same for every run, and read back
 * by the outbox the simulator answers for (callIndexOf).
 */
export const callIdOf = (i: number, startMs: number) => {
  const ms = startMs.toString(16).padStart(12, "0");
  return `${ms.slice(0, 8)}-${ms.slice(8, 12)}-7000-8000-${i.toString(16).padStart(12, "0")}`;
};

/** The index of a call whose id callIdOf made, or -1. */
export const callIndexOf = (callId: string) => {
  const m = /^[0-9a-f]{8}-[0-9a-f]{4}-7000-8000-([0-9a-f]{12})$/.exec(callId);
  return m ? Number.parseInt(m[1]!, 16) : -1;
};

/** Event i of a day of `total` calls over `keys` keys: a pure function of its arguments. */
export function simEvent(i: number, total: number, keys: number, day: string): SimEvent {
  const r = rng(i * 2654435761 + 12345);
  // A skewed key: a few keys carry much of the traffic, as in production.
  const keyIndex = Math.min(keys - 1, Math.floor(keys * r() ** 3));
  let pick = r();
  let kind = "chat";
  for (const [k, w] of KIND_MIX) {
    if (pick < w) {
      kind = k;
      break;
    }
    pick -= w;
  }
  const model =
    kind === "embedding"
      ? MODELS[2]
      : kind === "image"
        ? MODELS[3]
        : kind === "speech"
          ? MODELS[4]
          : kind === "transcription"
            ? MODELS[5]
            : kind === "completion" || r() < 0.7
              ? MODELS[0]
              : MODELS[1];
  const tokens = ["chat", "completion", "responses", "messages"].includes(kind);
  const stream = tokens && r() < 0.4;
  const failed = r() < 0.02;
  const cut = !failed && stream && r() < 0.05;
  const status = failed ? "failure" : cut ? "cut" : "success";
  const promptTokens = tokens || kind === "embedding" ? int(r, 20, 4000) : 0;
  const maxOutputTokens = tokens ? 1024 : 0;
  let completionTokens = tokens ? int(r, 5, 1000) : 0;
  if (cut) completionTokens = Math.floor(completionTokens / 3);
  if (failed) completionTokens = 0;
  const images = kind === "image" ? int(r, 1, 4) : 0;
  const audioMs = kind === "transcription" ? int(r, 1_000, 600_000) : 0;
  const characters = kind === "speech" ? int(r, 50, 5_000) : 0;
  const cacheHit = tokens && !failed && !cut && r() < 0.02;
  const cachedTokens = tokens && r() < 0.1 ? Math.floor(promptTokens / 2) : 0;
  // Spread over the day (a mild daytime peak), a minute's jitter: calls end and arrive out of order.
  const dayStart = Date.parse(`${day}T00:00:00Z`);
  const x = (i + 0.5) / total;
  const shaped = x - 0.08 * Math.sin(2 * Math.PI * x);
  const latency = stream ? int(r, 800, 30_000) : int(r, 150, 8_000);
  const start = Math.min(
    dayStart + DAY_MS - 60_000,
    Math.max(dayStart, dayStart + Math.floor(shaped * DAY_MS) + int(r, -60_000, 60_000)),
  );
  const firstTokenAt =
    stream && !failed ? new Date(start + int(r, 100, Math.min(1500, latency))).toISOString() : null;
  const pii: Record<string, number> = r() < 0.01 ? { email: int(r, 1, 3) } : {};
  const m = model as {
    input: number;
    output: number;
    image?: number;
    characters?: number;
    audioSecond?: number;
  };
  const worst =
    Math.ceil((promptTokens * m.input + maxOutputTokens * m.output) / 1e6) +
    images * (m.image ?? 0) +
    Math.ceil((characters * (m.characters ?? 0)) / 1e6) +
    Math.ceil(audioMs / 1000) * (m.audioSecond ?? 0) +
    1;
  return {
    callId: callIdOf(i, start),
    keyIndex,
    modelGroup: model.name,
    providerModel: `fake/${model.name}`,
    status,
    stream,
    promptTokens,
    completionTokens,
    cachedTokens,
    startedAt: new Date(start).toISOString(),
    endedAt: new Date(start + latency).toISOString(),
    firstTokenAt,
    errorClass: failed ? ERRORS[int(r, 0, ERRORS.length - 1)]! : null,
    kind,
    images,
    audioMs,
    characters,
    imageSize: kind === "image" ? "1024x1024" : null,
    imageQuality: kind === "image" ? (r() < 0.5 ? "standard" : "hd") : null,
    cacheHit,
    piiMasked: pii,
    safetyScore: tokens && r() < 0.3 ? int(r, 0, 100) : null,
    worstMicros: worst * 2,
    maxOutputTokens,
  };
}

/** The order batches are sent in: each window of WINDOW batches shuffled (deterministically). */
export function windowOrder(w: number, batches: number): number[] {
  const first = w * WINDOW;
  const order = Array.from({ length: Math.min(WINDOW, batches - first) }, (_, j) => first + j);
  const r = rng(w * 7919 + 17);
  for (let j = order.length - 1; j > 0; j--) {
    const k = Math.floor(r() * (j + 1));
    [order[j], order[k]] = [order[k]!, order[j]!];
  }
  return order;
}

/** A batch already sent that the outbox sends again after this window (its answer was lost): every other window. */
export function replayAfter(w: number): number | null {
  if (w === 0) return null;
  const r = rng(w * 104729 + 3);
  if (w > 1 && r() >= 1 / 2) return null;
  return Math.floor(r() * w * WINDOW);
}

// --- the state: checkpoint, database, platform ---------------------------------------------------------------

interface Stats {
  sent: number;
  inserted: number;
  duplicates: number;
  upgraded: number;
  unknownKeys: number;
  replays: number;
  /** Calls a replayed batch inserted or upgraded: must stay 0. */
  replayChanged: number;
  retries: number;
}

interface Checkpoint {
  config: { events: number; keys: number; orgs: number; persons: number; day: string };
  setupDone: boolean;
  setupSeconds: number;
  nextWindow: number;
  ingestSeconds: number;
  stats: Stats;
  leasesReturned: boolean;
  settlement: { seconds: number; runId: string; chunks: number } | null;
}

const emptyStats = (): Stats => ({
  sent: 0,
  inserted: 0,
  duplicates: 0,
  upgraded: 0,
  unknownKeys: 0,
  replays: 0,
  replayChanged: 0,
  retries: 0,
});

function loadCheckpoint(file: string, config: Checkpoint["config"]): Checkpoint | null {
  if (!existsSync(file)) return null;
  const cp = JSON.parse(readFileSync(file, "utf8")) as Checkpoint;
  return JSON.stringify(cp.config) === JSON.stringify(config) && cp.setupDone ? cp : null;
}

function saveCheckpoint(file: string, cp: Checkpoint) {
  writeFileSync(`${file}.tmp`, JSON.stringify(cp, null, 2));
  rmSync(file, { force: true });
  writeFileSync(file, JSON.stringify(cp, null, 2));
  rmSync(`${file}.tmp`, { force: true });
}

/** Users, organizations with members, keys, funding, leases and holds: set-based statements. */
async function setup(sql: Sql, o: SimDayOptions) {
  const since = new Date(Date.parse(`${o.day}T00:00:00Z`) - 60 * DAY_MS);
  for (const m of MODELS) {
    const mm = m as { image?: number; characters?: number; audioSecond?: number };
    await sql`
      with model as (
        insert into models (public_name, litellm_model_group, provider, context_window, max_output_tokens)
        values (${m.name}, ${m.name}, 'fake', 128000, 4096) returning id
      )
      insert into price_versions (model_id, effective_from, input_cost_micros, output_cost_micros, input_price_micros,
                                  output_price_micros, image_cost_micros, image_price_micros, character_cost_micros,
                                  character_price_micros, audio_second_cost_micros, audio_second_price_micros)
      select id, ${since}, ${Math.floor(m.input * 0.6)}, ${Math.floor(m.output * 0.6)}, ${m.input}, ${m.output},
             ${Math.floor((mm.image ?? 0) * 0.6)}, ${mm.image ?? 0}, ${Math.floor((mm.characters ?? 0) * 0.6)},
             ${mm.characters ?? 0}, ${Math.floor((mm.audioSecond ?? 0) * 0.6)}, ${mm.audioSecond ?? 0}
      from model`;
  }
  // Persons (the users trigger opens each one's account).
  await sql`
    insert into users (email, name, role)
    select 'sim-' || g || '@example.com', 'Sim person ' || g, 'developer' from generate_series(0, ${o.persons - 1}) g`;
  // Organizations: 5 members each (persons 5j … 5j+4; the first owns it), a team account each.
  await sql`
    with owners as (
      select g as j, u.id as owner from generate_series(0, ${o.orgs - 1}) g
      join users u on u.email = 'sim-' || (g * 5) || '@example.com'
    )
    insert into organizations (name, slug, created_by)
    select 'Sim org ' || j, 'sim-org-' || j, owner from owners`;
  await sql`
    insert into accounts (kind, organization_id)
    select 'team', id from organizations where slug like 'sim-org-%'`;
  await sql`
    insert into organization_members (organization_id, user_id, role)
    select o.id, u.id, case when m = 0 then 'owner' else 'member' end
    from organizations o
    cross join generate_series(0, 4) m
    join users u on u.email = 'sim-' || (substring(o.slug from 9)::int * 5 + m) || '@example.com'
    where o.slug like 'sim-org-%'`;
  // Keys: 1 in 5 an organization's (made by one of its members), the rest persons' own. key_index orders them.
  await sql`
    create table if not exists sim_keys (key_index integer primary key, key_id uuid not null, lease_id uuid)`;
  await sql`
    with spec as (
      select g as n,
             case when g % 5 = 0 then (g / 5) % ${o.orgs} end as org,
             case when g % 5 = 0 then ((g / 5) % ${o.orgs}) * 5 + (g / 5 / ${o.orgs}) % 5 else g % ${o.persons} end as person
      from generate_series(0, ${o.keys - 1}) g
    ),
    resolved as (
      select s.n, u.id as user_id, coalesce(ta.id, pa.id) as account_id
      from spec s
      join users u on u.email = 'sim-' || s.person || '@example.com'
      join accounts pa on pa.owner_user_id = u.id
      left join organizations og on og.slug = 'sim-org-' || s.org
      left join accounts ta on ta.organization_id = og.id
    ),
    ins as (
      insert into api_keys (user_id, account_id, name, prefix, key_hash)
      select user_id, account_id, 'sim key ' || n, 'tg_sim', sha256(('sim-key-' || n)::bytea)
      from resolved order by n
      returning id, name
    )
    insert into sim_keys (key_index, key_id)
    select substring(name from 9)::int, id from ins`;
  // Funding: $10,000 per account, one balanced top-up transaction.
  await sql`
    with t as (
      insert into ledger_transactions (kind, idempotency_key, reason) values ('topup', 'sim-day-funding', 'sim:day funding')
      returning id
    ),
    funded as (
      select a.id from accounts a
      where a.kind = 'team' or a.owner_user_id in (select id from users where email like 'sim-%@example.com')
    ),
    e as (
      insert into ledger_entries (transaction_id, account_id, amount_micros)
      select t.id, f.id, 10000000000 from t, funded f
      union all
      select t.id, (select id from accounts where code = 'funding'), -10000000000 * (select count(*) from funded) from t
      returning 1
    )
    update accounts a set balance_micros = a.balance_micros + 10000000000 from funded f where a.id = f.id`;
  await sql`analyze`;
  // The gateway processes' leases: one per lease key, granted at the day's first second (its validity ends at the
  // day's end at the latest), as a process takes one when the key's first call arrives.
  const dayStart = `${o.day}T00:00:01Z`;
  await sql.begin(async (tx) => {
    await tx`select set_config('tollgate.now', ${dayStart}, true)`;
    await tx`
      with l as (
        select k.key_index, gen_random_uuid() as lease_id, k.key_id from sim_keys k
        where k.key_index % 100 <> 2 and k.key_index < ${Math.max(1, Math.floor(o.keys / 20))}
      ),
      granted as (
        select l.key_index, g.lease_id from l
        cross join lateral grant_lease(l.lease_id, l.key_id, 'sim-gw-' || (l.key_index % 8), 'n' || l.key_index,
                                       1000000000, 1, 86400) g
      )
      update sim_keys s set lease_id = g.lease_id from granted g where s.key_index = g.key_index`;
  });
  // Holds for the calls of the keys billed per call, placed as each call starts (all at the day's first second
  // here), and held calls whose webhook is lost (the settlement replays them from the gateway's outbox).
  const holds: {
    key_index: number;
    call_id: string;
    model: string;
    prompt: number;
    max_out: number;
    units: Record<string, number>;
    kind: string;
    size: string | null;
    quality: string | null;
  }[] = [];
  let lost = 0;
  const flush = async () => {
    if (!holds.length) return;
    await sql.begin(async (tx) => {
      await tx`select set_config('tollgate.now', ${dayStart}, true)`;
      await tx`
        select h.* from jsonb_to_recordset(${tx.json(holds)}::jsonb) as r(key_index int, call_id text, model text,
          prompt int, max_out int, units jsonb, kind text, size text, quality text)
        join sim_keys k on k.key_index = r.key_index
        cross join lateral place_hold(k.key_id, r.call_id, r.call_id, r.model, r.prompt, r.max_out, 1, '{}', r.units,
                                      r.size, r.quality, r.kind) h`;
    });
    holds.length = 0;
  };
  for (let i = 0; i < o.events; i++) {
    const e = simEvent(i, o.events, o.keys, o.day);
    if (keyClass(e.keyIndex, o.keys) !== "hold") continue;
    holds.push({
      key_index: e.keyIndex,
      call_id: e.callId,
      model: e.modelGroup,
      prompt: e.promptTokens,
      max_out: e.maxOutputTokens,
      units: { image: e.images, audio: e.audioMs, characters: e.characters },
      kind: e.kind,
      size: e.imageSize,
      quality: e.imageQuality,
    });
    if (holds.length >= 2_000) await flush();
  }
  await flush();
  // Lost webhooks: held calls that never report through the webhook; the gateway's outbox still has them, and the
  // settlement replays them from it.
  await sql.begin(async (tx) => {
    await tx`select set_config('tollgate.now', ${`${o.day}T12:00:00Z`}, true)`;
    const rows = await tx`
      select h.* from sim_keys k
      cross join lateral place_hold(k.key_id, 'lost-' || k.key_index, 'lost-' || k.key_index, 'sim-small', 500, 1024, 1,
                                    '{}', '{}', null, null, 'chat') h
      where k.key_index % 100 = 2 and k.key_index < ${Math.min(o.keys, 20_000)}`;
    lost = rows.length;
  });
  await sql`analyze`;
  return { lostHolds: lost };
}

/** The wire form of an event, as the gateway's outbox posts it (lib/billing/schemas.ts usageEvent). */
function wire(e: SimEvent, keyId: string, leaseId: string | null) {
  return {
    callId: e.callId,
    keyId,
    modelGroup: e.modelGroup,
    providerModel: e.providerModel,
    status: e.status,
    stream: e.stream,
    promptTokens: e.promptTokens,
    completionTokens: e.completionTokens,
    cachedTokens: e.cachedTokens,
    startedAt: e.startedAt,
    endedAt: e.endedAt,
    errorClass: e.errorClass,
    leaseId,
    drawMicros: leaseId ? e.worstMicros : null,
    kind: e.kind,
    firstTokenAt: e.firstTokenAt,
    images: e.images,
    audioMs: e.audioMs,
    characters: e.characters,
    imageSize: e.imageSize,
    imageQuality: e.imageQuality,
    cacheHit: e.cacheHit,
    piiMasked: e.piiMasked,
    safetyScore: e.safetyScore,
  };
}

interface BatchAnswer {
  inserted: number;
  duplicates: number;
  upgraded: number;
  unknownKeys: number;
}

/** Posts one batch, signed at the moment it is sent; retries (as the outbox does) on a 5xx or no answer. */
async function post(appUrl: string, body: string, stats: Stats): Promise<BatchAnswer> {
  for (let attempt = 0; ; attempt++) {
    try {
      const res = await fetch(`${appUrl}/api/webhooks/litellm`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          [SIGNATURE_HEADER]: signWebhook(SECRETS.WEBHOOK_SECRET, body),
        },
        body,
        signal: AbortSignal.timeout(120_000),
      });
      const text = await res.text();
      if (res.ok) return JSON.parse(text) as BatchAnswer;
      const refused = new Error(`webhook answered ${res.status}: ${text.slice(0, 500)}`);
      // A 4xx is the batch's own fault: sending it again would get the same answer.
      if (res.status < 500) throw Object.assign(refused, { final: true });
      if (attempt >= 8) throw refused;
    } catch (error) {
      if (attempt >= 8 || (error as { final?: boolean }).final) throw error;
    }
    stats.retries++;
    await new Promise((r) => setTimeout(r, Math.min(30_000, 500 * 2 ** attempt)));
  }
}

/**
 * The gateway's outbox as the settlement asks it about a hold with no usage row (GET /tollgate/outbox/events, the
 * gateway secret): a simulated call's events are rebuilt from its index; a lost webhook's call was never stored.
 */
function outboxReplay(o: SimDayOptions, keyIds: string[], leaseIds: (string | null)[]): Promise<Server> {
  const byId = new Map(keyIds.map((id, k) => [id, k]));
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    if (
      url.pathname !== "/tollgate/outbox/events" ||
      req.headers.authorization !== `Bearer ${SECRETS.GATEWAY_SECRET}`
    ) {
      res.writeHead(404, { "content-type": "application/json" }).end('{"error":"not found"}');
      return;
    }
    const callId = url.searchParams.get("callId") ?? "";
    const k = byId.get(url.searchParams.get("keyId") ?? "");
    const i = callIndexOf(callId);
    const events: ReturnType<typeof wire>[] = [];
    const lost = /^lost-(\d+)$/.exec(callId);
    if (k !== undefined && lost && Number(lost[1]) === k) {
      // A call whose webhook was lost (its answer never reached the platform): the outbox still has it.
      const at = Date.parse(`${o.day}T12:00:00Z`);
      events.push({
        ...wire(simEvent(0, o.events, o.keys, o.day), keyIds[k]!, null),
        callId,
        modelGroup: "sim-small",
        providerModel: "fake/sim-small",
        kind: "chat",
        status: "success",
        stream: false,
        promptTokens: 500,
        completionTokens: 200,
        cachedTokens: 0,
        cacheHit: false,
        errorClass: null,
        firstTokenAt: null,
        images: 0,
        audioMs: 0,
        characters: 0,
        imageSize: null,
        imageQuality: null,
        startedAt: new Date(at).toISOString(),
        endedAt: new Date(at + 2_000).toISOString(),
      });
    } else if (k !== undefined && i >= 0 && i < o.events) {
      const e = simEvent(i, o.events, o.keys, o.day);
      if (e.keyIndex === k)
        events.push(wire(e, keyIds[k]!, keyClass(k, o.keys) === "lease" ? leaseIds[k]! : null));
    }
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ events }));
  });
  return new Promise((resolve) => server.listen(o.appPort + 5, "127.0.0.1", () => resolve(server)));
}

function startApp(o: SimDayOptions, databaseUrl: string, group: ProcessGroup) {
  const appUrl = `http://127.0.0.1:${o.appPort}`;
  return group
    .start({
      name: "app",
      command: process.execPath,
      args: [
        path.resolve("node_modules/next/dist/bin/next"),
        "start",
        "--port",
        String(o.appPort),
        "--hostname",
        "127.0.0.1",
      ],
      env: {
        NODE_ENV: "production",
        DATABASE_URL: databaseUrl,
        APP_URL: appUrl,
        LOG_LEVEL: "warn",
        LITELLM_URL: `http://127.0.0.1:${o.appPort + 5}`,
        NEXT_TELEMETRY_DISABLED: "1",
        ...SECRETS,
      },
      ready: { url: `${appUrl}/api/health`, timeoutMs: 90_000 },
      onLine: (line) => {
        if (/error/i.test(line)) o.log(`[app] ${line}`);
      },
    })
    .then(() => appUrl);
}

export interface ReadFigure {
  name: string;
  p50: number;
  p95: number;
}

export interface SimDayResult {
  options: Omit<SimDayOptions, "log">;
  setupSeconds: number;
  ingestSeconds: number;
  eventsPerSecond: number;
  stats: Stats;
  lostHolds: number;
  settlement: { seconds: number; runId: string; chunks: number };
  reads: ReadFigure[];
  dbBytes: number;
  usageBytes: number;
  usageRows: number;
  databaseUrl: string;
}

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

/**
 * Runs the day (or continues it from its checkpoint). `keep` leaves PostgreSQL running and hands its client to
 * the caller (tests read the result); otherwise everything started is stopped before it returns.
 */
export async function runSimDay(
  options: Partial<SimDayOptions> = {},
  inspect?: (sql: Sql, result: SimDayResult) => Promise<void>,
): Promise<SimDayResult> {
  const o = { ...DEFAULTS, ...options };
  const config = { events: o.events, keys: o.keys, orgs: o.orgs, persons: o.persons, day: o.day };
  if (o.day >= new Date().toISOString().slice(0, 10))
    throw new Error(`the simulated day ${o.day} has not ended`);
  mkdirSync(o.stateDir, { recursive: true });
  const cpFile = path.join(o.stateDir, "checkpoint.json");
  let cp = o.fresh ? null : loadCheckpoint(cpFile, config);
  const pg = await startEmbeddedPostgres({
    dir: path.join(o.stateDir, "pg"),
    port: o.pgPort,
    fast: o.fastDurability,
  });
  const database = "tollgate_sim_day";
  const databaseUrl = pg.url(database);
  const group = new ProcessGroup();
  let sql: Sql | null = null;
  let outbox: Server | null = null;
  try {
    if (!cp) {
      const admin = createClient({ url: pg.url(), max: 1 });
      await admin`drop database if exists ${admin(database)} with (force)`;
      await admin`create database ${admin(database)}`;
      await admin.end();
    }
    sql = createClient({ url: databaseUrl, max: o.concurrency + 2 });
    await migrate(sql);
    if (!cp) {
      o.log(
        `▸ setup: ${fmt(o.keys)} keys over ${fmt(o.persons)} persons and ${fmt(o.orgs)} organizations, leases, holds…`,
      );
      const t0 = performance.now();
      const { lostHolds } = await setup(sql, o);
      cp = {
        config,
        setupDone: true,
        setupSeconds: (performance.now() - t0) / 1000,
        nextWindow: 0,
        ingestSeconds: 0,
        stats: emptyStats(),
        leasesReturned: false,
        settlement: null,
      };
      saveCheckpoint(cpFile, cp);
      o.log(`  done in ${f1(cp.setupSeconds)} s (${lostHolds} holds whose webhook is lost)`);
    } else {
      o.log(`▸ resuming from ${cpFile}: window ${cp.nextWindow}, ${fmt(cp.stats.sent)} events sent`);
    }
    const state = cp;
    // The simulated day's partition, as the queue's usage.partitions job makes each day's a week ahead in production
    // (the day is in the past here, so no tick made it): without it the day's calls would land in
    // usage_events_default, and the settlement's drain ticks would first move them all into their partition.
    await sql`select * from ensure_usage_partitions(${o.day}::date, ${o.day}::date)`;
    const keyRows = await sql<{ key_index: number; key_id: string; lease_id: string | null }[]>`
      select key_index, key_id::text, lease_id::text from sim_keys order by key_index`;
    const keyIds = keyRows.map((k) => k.key_id);
    const leaseIds = keyRows.map((k) => k.lease_id);
    const [lostRow] = await sql<
      { n: number }[]
    >`select count(*)::int as n from holds where call_id like 'lost-%'`;

    o.log("▸ starting the platform (next start)…");
    outbox = await outboxReplay(o, keyIds, leaseIds);
    const appUrl = await startApp(o, databaseUrl, group);

    // --- ingest ---
    const batches = Math.ceil(o.events / BATCH);
    const windows = Math.ceil(batches / WINDOW);
    const body = (b: number) => {
      const events = [];
      for (let i = b * BATCH; i < Math.min(o.events, (b + 1) * BATCH); i++) {
        const e = simEvent(i, o.events, o.keys, o.day);
        events.push(
          wire(
            e,
            keyIds[e.keyIndex]!,
            keyClass(e.keyIndex, o.keys) === "lease" ? leaseIds[e.keyIndex]! : null,
          ),
        );
      }
      return { text: JSON.stringify({ events }), n: events.length };
    };
    if (state.nextWindow < windows) {
      o.log(
        `▸ ingest: ${fmt(o.events)} events in ${fmt(batches)} signed batches of ${BATCH}, ${o.concurrency} at a time…`,
      );
      let lastLog = performance.now();
      const segmentStart = performance.now();
      const segmentBase = state.ingestSeconds;
      const sentAtStart = state.stats.sent;
      for (let w = state.nextWindow; w < windows; w++) {
        const queue: { b: number; replay: boolean }[] = windowOrder(w, batches).map((b) => ({
          b,
          replay: false,
        }));
        const again = replayAfter(w);
        if (again !== null) queue.push({ b: again, replay: true });
        await Promise.all(
          Array.from({ length: o.concurrency }, async () => {
            for (let job = queue.shift(); job; job = queue.shift()) {
              const { text, n } = body(job.b);
              const answer = await post(appUrl, text, state.stats);
              if (job.replay) {
                state.stats.replays++;
                state.stats.replayChanged += answer.inserted + answer.upgraded;
                state.stats.duplicates += answer.duplicates;
                continue;
              }
              state.stats.sent += n;
              state.stats.inserted += answer.inserted;
              state.stats.duplicates += answer.duplicates;
              state.stats.upgraded += answer.upgraded;
              state.stats.unknownKeys += answer.unknownKeys;
            }
          }),
        );
        state.nextWindow = w + 1;
        state.ingestSeconds = segmentBase + (performance.now() - segmentStart) / 1000;
        saveCheckpoint(cpFile, state);
        if (performance.now() - lastLog > o.progressMs || w === windows - 1) {
          lastLog = performance.now();
          const rate = (state.stats.sent - sentAtStart) / ((performance.now() - segmentStart) / 1000);
          const left = (o.events - state.stats.sent) / Math.max(1, rate);
          o.log(
            `  ${fmt(state.stats.sent)} / ${fmt(o.events)} events (${f1((100 * state.stats.sent) / o.events)} %), ${fmt(rate)} events/s, ${state.stats.replays} replays, ${state.stats.retries} retries, ~${f1(left / 60)} min left`,
          );
        }
      }
    }

    // --- the gateways return their leases (what no call drew: everything reported is settled) ---
    if (!state.leasesReturned) {
      const open = await sql<{ id: string; key_id: string; reserved_micros: bigint }[]>`
        select id::text, key_id::text, reserved_micros from leases where status = 'open'`;
      let next = 0;
      await Promise.all(
        Array.from({ length: o.concurrency }, async () => {
          while (next < open.length) {
            const l = open[next++]!;
            await returnLease(
              sql!,
              { leaseId: l.id, keyId: l.key_id, unusedMicros: l.reserved_micros },
              { keepSeconds: 0 },
            );
          }
        }),
      );
      state.leasesReturned = true;
      saveCheckpoint(cpFile, state);
      o.log(`▸ ${fmt(open.length)} leases returned`);
    }

    // --- settlement through the queue, as cron runs it ---
    if (!state.settlement) {
      o.log(`▸ settling ${o.day} through the queue (GET /api/cron/settle, then /api/cron/drain until done)…`);
      const cron = (p: string) =>
        fetch(`${appUrl}${p}`, {
          headers: { authorization: `Bearer ${SECRETS.CRON_SECRET}` },
          signal: AbortSignal.timeout(120_000),
        }).then(async (res) => {
          const text = await res.text();
          if (!res.ok) throw new Error(`${p} answered ${res.status}: ${text.slice(0, 500)}`);
          return JSON.parse(text) as Record<string, unknown>;
        });
      const t0 = performance.now();
      const started = (await cron(`/api/cron/settle?day=${o.day}`)) as { runId: string; chunks: number };
      // Bounded: a chunk job that died would leave the run running for ever.
      const giveUpAt = Date.now() + 3_600_000;
      for (;;) {
        if (Date.now() > giveUpAt)
          throw new Error(`the settlement of ${o.day} did not complete within an hour`);
        const drained = (await cron("/api/cron/drain")) as { claimed: number };
        // Nothing runnable now (a job waits out its retry backoff): wait as the next cron tick would, shorter.
        if (drained.claimed === 0) await new Promise((r) => setTimeout(r, 1000));
        const [run] = await sql<{ status: string; error: string | null }[]>`
          select status, error from settlement_runs where id = ${started.runId}`;
        if (run!.status === "failed") throw new Error(`the settlement of ${o.day} failed: ${run!.error}`);
        if (run!.status === "completed") break;
      }
      state.settlement = {
        seconds: (performance.now() - t0) / 1000,
        runId: started.runId,
        chunks: started.chunks,
      };
      saveCheckpoint(cpFile, state);
      o.log(`  settled in ${f1(state.settlement.seconds)} s (${state.settlement.chunks} chunk jobs)`);
    }
    await group.stop();

    // --- 29 more days of roll-ups (copies of the simulated day's), then the dashboard's reads ---
    await synthesizeRollups(sql, o.day, o.rollupDays);
    await sql`analyze`;
    const reads = await dashboardReads(sql, o);

    const [size] = await sql<{ db: bigint; usage: bigint; rows: bigint }[]>`
      select pg_database_size(current_database())::bigint as db,
             -- Its partitions too, if it has any (pg_partition_tree names a plain table alone).
             (select coalesce(sum(pg_total_relation_size(relid)), 0) from pg_partition_tree('usage_events'))::bigint
               as usage,
             (select count(*) from usage_events)::bigint as rows`;
    const result: SimDayResult = {
      options: (({ log: _l, ...rest }) => rest)(o),
      setupSeconds: state.setupSeconds,
      ingestSeconds: state.ingestSeconds,
      eventsPerSecond: state.stats.sent / state.ingestSeconds,
      stats: state.stats,
      lostHolds: lostRow!.n,
      settlement: state.settlement,
      reads,
      dbBytes: Number(size!.db),
      usageBytes: Number(size!.usage),
      usageRows: Number(size!.rows),
      databaseUrl,
    };
    if (inspect) await inspect(sql, result);
    return result;
  } finally {
    outbox?.close();
    await group.stop();
    await sql?.end({ timeout: 5 }).catch(() => undefined);
    await pg.stop();
  }
}

/**
 * The days before the simulated one as the dashboard would find them after a month of such days: copies of the day's
 * roll-ups (hourly, daily per account × key, per-day owner), a day earlier each time, each day marked settled. Also
 * bench/dashboard.ts's month.
 */
export async function synthesizeRollups(sql: Sql, day: string, days: number) {
  if (days <= 0) return;
  // Copies of the day's rows, a day earlier each time (whatever columns the roll-ups have grown).
  await sql.begin(async (tx) => {
    await tx`create temp table sim_hourly on commit drop as
             select * from usage_hourly where hour >= ${day}::date and hour < ${day}::date + 1`;
    await tx`create temp table sim_daily on commit drop as select * from usage_rollups where day = ${day}::date`;
    for (let d = 1; d <= days; d++) {
      await tx`update sim_hourly set hour = hour - interval '1 day'`;
      await tx`insert into usage_hourly select * from sim_hourly on conflict do nothing`;
      await tx`update sim_daily set day = day - 1`;
      await tx`insert into usage_rollups select * from sim_daily on conflict do nothing`;
    }
    await copyOwnerDays(tx, day, days);
  });
  await sql`
    insert into settlement_runs (day, status, trigger, started_at, finished_at)
    select ${day}::date - d, 'completed', 'cron', now(), now() from generate_series(1, ${days}) d
    where not exists (select 1 from settlement_runs s where s.day = ${day}::date - d)`;
}

/**
 * The per-day owner roll-ups (usage_owner_days) of the `days` days before `day` as copies of the day's, and the
 * owners' activity bits for those days (what roll_up_owner_days would have kept had their calls been ingested).
 */
export async function copyOwnerDays(tx: Db, day: string, days: number) {
  await tx`
    insert into usage_owner_days (owner_kind, owner_id, day, calls, failures, tokens_in, tokens_out, revenue_micros,
                                  cost_micros)
    select o.owner_kind, o.owner_id, ${day}::date - d, o.calls, o.failures, o.tokens_in, o.tokens_out, o.revenue_micros,
           o.cost_micros
    from usage_owner_days o cross join generate_series(1, ${days}::int) d
    where o.day = ${day}::date
    on conflict do nothing`;
  // As roll_up_owner_days sets them: day d's bit in its own period's row (32 + d % 32) and in the next's (d % 32).
  await tx`
    insert into usage_owner_activity as a (owner_kind, period, owner_id, days)
    select o.owner_kind, b.period, o.owner_id, bit_or(b.bit)
    from usage_owner_days o
    cross join lateral (select o.day - date '1970-01-01' as d) e
    cross join lateral (values (e.d >> 5, 1::bigint << (32 + (e.d & 31))), ((e.d >> 5) + 1, 1::bigint << (e.d & 31)))
      as b(period, bit)
    where o.day >= ${day}::date - ${days}::int and o.day < ${day}::date
    group by 1, 2, 3
    on conflict (owner_kind, period, owner_id) do update set days = a.days | excluded.days`;
}

async function dashboardReads(sql: Sql, o: SimDayOptions): Promise<ReadFigure[]> {
  const dayEnd = new Date(Date.parse(`${o.day}T00:00:00Z`) + DAY_MS - 1000);
  const from = new Date(Date.parse(`${o.day}T00:00:00Z`) - o.rollupDays * DAY_MS).toISOString().slice(0, 10);
  const to = o.day;
  const month = resolveRange({ from, to });
  const wide = { from, to };
  const [events] = await sql<{ n: number }[]>`select count(*)::int as n from usage_events`;
  const deepOffset = Math.floor(events!.n / 2);
  const [deep] = await sql<{ micros: string; id: string }[]>`
    select (extract(epoch from started_at) * 1000000)::bigint::text as micros, id::text as id
    from usage_events order by started_at desc, id desc offset ${deepOffset} limit 1`;
  const deepCursor = Buffer.from(`${deep!.micros}:${deep!.id}`).toString("base64url");
  const views: [string, () => Promise<unknown>][] = [
    [
      "overview (the day as today, 30 days, 24 h and 30-day series, tops, low accounts)",
      () => overview(sql, SYSTEM, dayEnd),
    ],
    [
      "analytics, 30 days (totals + daily series + by model)",
      () =>
        Promise.all([
          usageTotals(sql, SYSTEM, wide, month),
          usageSeries(sql, SYSTEM, wide, "day", month),
          usageBreakdown(sql, SYSTEM, wide, "model", month),
        ]),
    ],
    [
      "analytics, 30 days by user (per-day owner roll-ups)",
      () => usageBreakdown(sql, SYSTEM, wide, "user", month),
    ],
    ["request log, first page (50)", () => listRequests(sql, SYSTEM, { ...wide, limit: 50 })],
    [
      `request log, a page ${fmt(deepOffset)} rows deep (cursor)`,
      () => listRequests(sql, SYSTEM, { ...wide, limit: 50, cursor: deepCursor }),
    ],
  ];
  const figures: ReadFigure[] = [];
  for (const [name, fn] of views) {
    await fn(); // warm-up
    const times: number[] = [];
    for (let i = 0; i < o.reads; i++) {
      const t = performance.now();
      await fn();
      times.push(performance.now() - t);
    }
    times.sort((a, b) => a - b);
    figures.push({ name, p50: percentile(times, 50), p95: percentile(times, 95) });
    o.log(`  ${name}: p95 ${f1(percentile(times, 95))} ms`);
  }
  return figures;
}

export function table(r: SimDayResult): string {
  const mb = (n: number) => `${f1(n / 2 ** 20)} MB`;
  return [
    "| figure | value | goal |",
    "|---|---:|---|",
    `| usage events (unique calls) pushed through the signed webhook | ${fmt(r.stats.sent)} | |`,
    `| ingest wall time | ${f1(r.ingestSeconds)} s (${f1(r.ingestSeconds / 60)} min) | |`,
    `| ingest events/s (HTTP, batches of ${BATCH}, ${r.options.concurrency} at a time) | ${fmt(r.eventsPerSecond)} | |`,
    `| batches replayed / calls they changed | ${r.stats.replays} / ${r.stats.replayChanged} | 0 changed |`,
    `| settlement wall time (cron settle + drains, ${r.settlement.chunks} chunk jobs) | ${f1(r.settlement.seconds)} s | < 60 s — ${r.settlement.seconds < 60 ? "met" : "not met"} |`,
    ...r.reads.map(
      (x) =>
        `| ${x.name}, p95 of ${r.options.reads} | ${f1(x.p95)} ms | < 300 ms — ${x.p95 < 300 ? "met" : "not met"} |`,
    ),
    `| database size | ${mb(r.dbBytes)} | |`,
    `| usage_events, heap + indexes (${fmt(r.usageRows)} rows) | ${mb(r.usageBytes)} (${fmt(r.usageBytes / Math.max(1, r.usageRows))} B/event) | |`,
  ].join("\n");
}

function parseArgs(argv: string[]): Partial<SimDayOptions> & { docs: boolean } {
  const out: Partial<SimDayOptions> & { docs: boolean } = { docs: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === "--events") out.events = Number(value());
    else if (a === "--scale") out.events = Math.round(DEFAULTS.events * Number(value()));
    else if (a === "--concurrency") out.concurrency = Number(value());
    else if (a === "--keys") out.keys = Number(value());
    else if (a === "--orgs") out.orgs = Number(value());
    else if (a === "--persons") out.persons = Number(value());
    else if (a === "--state-dir") out.stateDir = path.resolve(value());
    else if (a === "--fast") out.fastDurability = true;
    else if (a === "--fresh") out.fresh = true;
    else if (a === "--no-docs") out.docs = false;
    else
      throw new Error(
        `unknown argument ${a} (--events N, --scale F, --concurrency C, --keys N, --orgs N, --persons N, --state-dir D, --fast, --fresh, --no-docs)`,
      );
  }
  if (out.events !== undefined && !(Number.isInteger(out.events) && out.events >= BATCH))
    throw new Error("--events must be a whole number of at least 1000");
  if (
    out.concurrency !== undefined &&
    !(Number.isInteger(out.concurrency) && out.concurrency >= 1 && out.concurrency <= 16)
  )
    throw new Error("--concurrency must be 1–16");
  return out;
}

async function main() {
  const { docs, ...options } = parseArgs(process.argv.slice(2));
  console.log(`Tollgate sim:day — ${machine()}`);
  const r = await runSimDay(options, async (sql) => {
    const violations = await checkLedgerInvariants(sql);
    console.log(
      `▸ ledger invariants: ${violations.length === 0 ? "hold" : `${violations.length} VIOLATIONS`}`,
    );
  });
  const t = table(r);
  console.log(`\n${t}`);
  if (!docs) return;
  writeSection(
    "sim-day",
    `## A day at seed 002's scale, simulated (sim/day.ts)

Measured ${new Date().toISOString().slice(0, 16)}Z on ${machine()}; embedded PostgreSQL 15 with default durability, the
platform under \`next start\`, the simulator, the server and the platform on the same 2 cores. One UTC day
(${r.options.day}) of **${fmt(r.stats.sent)} calls** from ${fmt(r.options.keys)} keys (${fmt(r.options.persons)} persons, ${fmt(r.options.orgs)} organizations; a
skewed mix of keys), every call kind, ~40 % of token calls streamed, 2 % failures, cut streams, cache hits; the busiest 5 %
of keys' calls drawn from gateway leases, 1 % of keys held per call (plus ${fmt(r.lostHolds)} held calls whose webhook is lost: the settlement replays them from the outbox), the rest
unreserved. Pushed through the real signed webhook route in batches of ${BATCH}, ${r.options.concurrency} in flight, windows of
${WINDOW} batches sent out of order and ${r.stats.replays} already-sent batches sent again. Then the day's settlement through the
queue as cron runs it, then the dashboard's reads (through the functions its pages call) on the day and on 29 more
days of roll-ups. Setup (set-based SQL) took ${f1(r.setupSeconds)} s.

${t}

\`npm run sim:day\` (10M calls by default; \`--events N\` or \`--scale F\`; resumable from \`.data/sim-day/checkpoint.json\`).
A 20,000-call run is part of \`npm test\` (tests/gateway/sim-day.test.ts).`,
  );
  console.log("written to docs/benchmarks.md");
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve("sim/day.ts")) {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
