import "server-only";
import type { Actor } from "@/lib/auth/types";
import { actsAsPlatformAdmin } from "@/lib/auth/visibility";
import { accountLedger, type LedgerLine } from "@/lib/billing/ledger";
import type { Db } from "@/lib/db/client";
import { toJsonText } from "@/lib/http/respond";
import type { Json } from "@/lib/json";
import { dayCalls } from "@/lib/usage/columns";
import { type OrgContext, type OrgRole, orgAllows } from "./access";
import { getOrg } from "./read";
import type { Org } from "./types";

// What the organization pages read (issue 25, ADR 0016): the switcher's list, an organization's account, its spend
// by member, key and model, its members and pending invitations, its keys, ledger and seat charges, and the admin's
// list. Reads only: every change goes through the /api/v1/orgs verbs. Each read asks orgFor first, so a non-member
// learns nothing (404) and a role sees what ORG_VERBS gives it; "this month" and "today" are UTC at tollgate_now().

/** A server value as a client component receives it from the API (money as exact numbers, dates as ISO text). */
export const asJson = <T>(data: T): Json<T> => JSON.parse(toJsonText(data));

/** What the actor may do in the organization, for pages to hide what a role may not use. */
export interface OrgAbilities {
  manageMembers: boolean;
  manageKeys: boolean;
  ownKeys: boolean;
  seeAllUsage: boolean;
  billing: boolean;
  settings: boolean;
  ownership: boolean;
  /** A platform admin: may change the plan and the status. */
  platformAdmin: boolean;
}

function abilitiesOf(ctx: Pick<OrgContext, "role">, actor: Actor): OrgAbilities {
  const admin = actsAsPlatformAdmin(actor);
  return {
    manageMembers: orgAllows(ctx, "members.manage", admin),
    manageKeys: orgAllows(ctx, "keys.manage", admin),
    ownKeys: orgAllows(ctx, "keys.own", admin),
    seeAllUsage: orgAllows(ctx, "usage.all", admin),
    billing: orgAllows(ctx, "billing", admin),
    settings: orgAllows(ctx, "settings", admin),
    ownership: orgAllows(ctx, "ownership", admin),
    platformAdmin: admin,
  };
}

/** An organization as its pages open it: the organization with its account, and what the actor may do in it. */
export interface OrgPage {
  org: Org;
  can: OrgAbilities;
}

/** The organization by slug or id for a page, as orgFor allows it (404 to non-members). */
export async function orgPage(db: Db, actor: Actor, ref: string): Promise<OrgPage> {
  const org = await getOrg(db, actor, ref);
  return { org, can: abilitiesOf(org, actor) };
}

export interface SpendByMember {
  userId: string;
  name: string | null;
  email: string;
  /** Null for someone who spent this month and has left since. */
  role: OrgRole | null;
  calls: number;
  chargedMicros: bigint;
}

export interface SpendByKey {
  keyId: string;
  name: string;
  prefix: string;
  status: "active" | "revoked";
  makerEmail: string;
  calls: number;
  chargedMicros: bigint;
}

export interface SpendByModel {
  model: string;
  calls: number;
  chargedMicros: bigint;
}

export interface DaySpend {
  day: string;
  calls: number;
  chargedMicros: bigint;
}

/** The overview's figures: spend this UTC month by member, key and model, and per UTC day over 30 days. */
export interface OrgSpend {
  /** Whether the figures cover every member (owner, admin, billing, platform admins) or the actor's own calls. */
  scope: "all" | "own";
  monthChargedMicros: bigint;
  monthCalls: number;
  byMember: SpendByMember[];
  byKey: SpendByKey[];
  byModel: SpendByModel[];
  daily: DaySpend[];
}

/**
 * The organization's spend as the actor may see it: everyone's with usage.all, otherwise only their own calls. Read
 * from the roll-ups, never from a month of call detail (an organization's month can be millions of calls): by member,
 * by key and per day from its keys' per-day roll-ups (usage_owner_days, kept with every insert in its statement:
 * exact to the last call, and whole after a short retention has trimmed the detail, docs/adr/0022, 0024); by model
 * from the settled days' usage_rollups while they hold all of the day and, for the other days (not settled yet, or
 * changed since by a late call or an upgrade), the day's detail through the account index, one day at a time. An
 * organization's keys spend from its account only, and a key's account never changes (api_keys_owner_fixed): its
 * keys' calls are its calls.
 */
export async function orgSpend(db: Db, actor: Actor, page: OrgPage): Promise<OrgSpend> {
  const accountId = page.org.account.id;
  const only = page.can.seeAllUsage ? null : actor.userId;
  const monthDay = db`budget_window(tollgate_now(), 'month')`;
  // Its keys (a member's own: theirs in its account), as a uuid[] read once per statement.
  const keys = db`array(select ok.id from api_keys ok where ok.account_id = ${accountId}::uuid
                         and (${only}::uuid is null or ok.user_id = ${only}::uuid))`;
  // The roll-up rows of its keys (usage_owner_days o).
  const ofItsKeys = db`o.owner_kind = 'key' and o.owner_id = any(${keys})`;
  const [byMember, byKey, byModel, daily] = await Promise.all([
    db<SpendByMember[]>`
      with spend as (
        select k.user_id, sum(o.calls)::int as calls, sum(o.revenue_micros)::bigint as charged
        from usage_owner_days o join api_keys k on k.id = o.owner_id
        where ${ofItsKeys} and o.day >= ${monthDay} and o.calls <> 0
        group by k.user_id
      ),
      people as (
        select m.user_id from organization_members m
        where m.organization_id = ${page.org.id} and (${only}::uuid is null or m.user_id = ${only}::uuid)
        union select user_id from spend
      )
      select p.user_id as "userId", nullif(u.name, '') as name, u.email, m.role,
             coalesce(s.calls, 0)::int as calls, coalesce(s.charged, 0)::bigint as "chargedMicros"
      from people p join users u on u.id = p.user_id
      left join organization_members m on m.organization_id = ${page.org.id} and m.user_id = p.user_id
      left join spend s on s.user_id = p.user_id
      order by coalesce(s.charged, 0) desc, u.email`,
    db<SpendByKey[]>`
      select k.id as "keyId", k.name, k.prefix, k.status, u.email as "makerEmail",
             sum(o.calls)::int as calls, sum(o.revenue_micros)::bigint as "chargedMicros"
      from usage_owner_days o join api_keys k on k.id = o.owner_id join users u on u.id = k.user_id
      where ${ofItsKeys} and o.day >= ${monthDay} and o.calls <> 0
      group by k.id, u.email
      order by sum(o.revenue_micros) desc, k.name
      limit 20`,
    db<SpendByModel[]>`
      with span as (
        select d::date as day from generate_series(${monthDay}, budget_window(tollgate_now(), 'day'), interval '1 day') d
      ),
      -- The settled days whose roll-ups still hold every call of its keys (whole_settled_days): a call that arrived
      -- after the settlement (a late delivery, an upgrade) makes a day differ until it is rolled up again; such a day
      -- is read from its detail.
      whole as (
        select w.day from whole_settled_days(${monthDay}, budget_window(tollgate_now(), 'day'), ${accountId}::uuid,
                                             ${keys}) w(day)
      ),
      rolled as (
        select r.model_group, r.requests::bigint as calls, r.revenue_micros::bigint as charged
        from usage_rollups r
        where r.day in (select day from whole) and r.account_id = ${accountId}::uuid
          and (${only}::uuid is null or r.key_id = any(${keys}))
      ),
      -- The other days (today, a day not settled or changed since) from their calls (dayCalls): the account index,
      -- one UTC day at a time. A call started after today (clock skew, at most a day ahead) counts with today's.
      live as (
        select e.model_group, e.calls, e.revenue as charged
        from span d
        cross join lateral (${dayCalls(db, db`d.day`, {
          account: { id: accountId, org: true },
          // A member who may see only their own calls: their keys'.
          keys: only ? keys : undefined,
          throughFuture: db`d.day = budget_window(tollgate_now(), 'day')`,
        })}) e
        where d.day not in (select day from whole)
      )
      select model_group as model, sum(calls)::int as calls, sum(charged)::bigint as "chargedMicros"
      from (select * from rolled union all select * from live) x
      group by model_group
      having sum(calls) <> 0
      order by sum(charged) desc, model_group`,
    db<DaySpend[]>`
      with span as (
        select d::date as day
        from generate_series(budget_window(tollgate_now(), 'day') - 29, budget_window(tollgate_now(), 'day'),
                             interval '1 day') d
      ),
      spend as (
        select o.day, sum(o.calls)::int as calls, sum(o.revenue_micros)::bigint as charged
        from usage_owner_days o
        where ${ofItsKeys} and o.day >= (select min(day) from span)
        group by o.day
      )
      select to_char(span.day, 'YYYY-MM-DD') as day, coalesce(s.calls, 0)::int as calls,
             coalesce(s.charged, 0)::bigint as "chargedMicros"
      from span left join spend s on s.day = span.day
      order by span.day`,
  ]);
  return {
    scope: only === null ? "all" : "own",
    // The month's figures are its members' sums (every call of its keys to the last one, as the by-member table).
    monthChargedMicros: byMember.reduce((sum, m) => sum + m.chargedMicros, 0n),
    monthCalls: byMember.reduce((sum, m) => sum + m.calls, 0),
    byMember,
    byKey,
    byModel,
    daily,
  };
}

/** The organization's ledger, newest first, for those with the billing verb (owner, billing, platform admins). */
export async function orgLedger(
  db: Db,
  page: OrgPage,
  query: { page: number; pageSize: number },
): Promise<{ items: LedgerLine[]; total: number; capped: boolean } | null> {
  if (!page.can.billing) return null;
  return accountLedger(db, page.org.account.id, query);
}
