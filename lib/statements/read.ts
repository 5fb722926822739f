import "server-only";
import type { Actor } from "@/lib/auth/types";
import { actsAsPlatformAdmin } from "@/lib/auth/visibility";
import type { Db } from "@/lib/db/client";
import { notFound } from "@/lib/http/errors";
import { orgFor } from "@/lib/orgs/access";
import { accountHolder, computeStatement, monthBounds, sortGroups, UNATTRIBUTED } from "./compute";
import type { ChargeGroup, Statement, StatementLines, StatementSummary } from "./schemas";

/**
 * Whose statements: the actor's own account ("own"), an organization's (by slug or id; owner, admin and billing
 * members: ORG_VERBS.statements), or any account for a platform admin ("account").
 */
export type StatementScope =
  | { kind: "own" }
  | { kind: "org"; ref: string }
  | { kind: "account"; accountId: string };

/** The account a scope names as the actor may read it: 404 for anything the actor may not see. */
export async function statementAccount(db: Db, actor: Actor, scope: StatementScope): Promise<string> {
  if (scope.kind === "org") return (await orgFor(db, actor, scope.ref, "statements")).accountId;
  if (scope.kind === "account") {
    const [row] = await db<{ id: string; ownerUserId: string | null }[]>`
      select id, owner_user_id as "ownerUserId" from accounts where id = ${scope.accountId} and kind in ('user', 'team')`;
    if (
      !row ||
      !(actsAsPlatformAdmin(actor) || (row.ownerUserId !== null && row.ownerUserId === actor.userId))
    ) {
      throw notFound("Account");
    }
    return row.id;
  }
  const [row] = await db<{ id: string }[]>`select id from accounts where owner_user_id = ${actor.userId}`;
  if (!row) throw notFound("Account");
  return row.id;
}

/** The platform's current UTC month (tollgate_now()), as YYYY-MM. */
export async function currentMonth(db: Db): Promise<string> {
  const [row] = await db<
    { month: string }[]
  >`select to_char(tollgate_now() at time zone 'utc', 'YYYY-MM') as month`;
  return row!.month;
}

const MICROS_KEY = /Micros$/;
const DATE_KEY = /^(at|closedAt|periodStart|periodEnd)$/;

/** Lines as stored in jsonb: money as strings of micro-USD (exact), dates as ISO text. */
export function linesToJson(lines: StatementLines): unknown {
  return JSON.parse(JSON.stringify(lines, (_k, v) => (typeof v === "bigint" ? v.toString() : v)));
}

export function linesFromJson(value: unknown): StatementLines {
  return JSON.parse(JSON.stringify(value), (k, v) =>
    MICROS_KEY.test(k) && typeof v === "string"
      ? BigInt(v)
      : DATE_KEY.test(k) && typeof v === "string"
        ? new Date(v)
        : v,
  ) as StatementLines;
}

/**
 * A closed statement's lines as stored (snapshot version 2): keys, members and seat holders by id only, their labels
 * read when the statement is shown, so that the append-only table holds no name a person gave or has (an erased
 * person's key and member lines then read as their pseudonym). Snapshots without a version (1) stored the labels
 * themselves and are read as stored.
 */
export const SNAPSHOT_VERSION = 2;

export function snapshotToJson(lines: StatementLines & { calls: number }): unknown {
  const byId = (groups: ChargeGroup[]) =>
    groups.map(({ label, ...g }) => (g.id === UNATTRIBUTED ? { ...g, label } : g));
  return linesToJson({
    ...lines,
    version: SNAPSHOT_VERSION,
    chargesByKey: byId(lines.chargesByKey),
    chargesByMember: byId(lines.chargesByMember),
    seatFees: lines.seatFees.map(({ member, ...f }) => (f.userId ? f : { ...f, member })),
  } as unknown as StatementLines);
}

/** A version 2 snapshot's key and member labels, as the keys and people are named now. */
async function withLabels(db: Db, lines: StatementLines): Promise<StatementLines> {
  const keyIds = lines.chargesByKey.map((g) => g.id).filter((id) => id !== UNATTRIBUTED);
  const userIds = [
    ...lines.chargesByMember.map((g) => g.id).filter((id) => id !== UNATTRIBUTED),
    ...lines.seatFees.flatMap((f) => (f.userId ? [f.userId] : [])),
  ];
  const [keys, users] = await Promise.all([
    keyIds.length
      ? db<{ id: string; label: string }[]>`
          select id::text, name || ' (' || prefix || '…)' as label from api_keys
          where id::text = any(${db.array(keyIds)}::text[])`
      : [],
    userIds.length
      ? db<{ id: string; label: string }[]>`
          select id::text, coalesce(nullif(name, ''), email) as label from users
          where id::text = any(${db.array(userIds)}::text[])`
      : [],
  ]);
  const keyLabel = new Map(keys.map((k) => [k.id, k.label]));
  const userLabel = new Map(users.map((u) => [u.id, u.label]));
  const labelled = (groups: ChargeGroup[], labels: Map<string, string>, missing: string) =>
    sortGroups(groups.map((g) => ({ ...g, label: g.label ?? labels.get(g.id) ?? missing })));
  return {
    ...lines,
    chargesByKey: labelled(lines.chargesByKey, keyLabel, "A deleted key"),
    chargesByMember: labelled(lines.chargesByMember, userLabel, "A former member"),
    seatFees: lines.seatFees.map((f) => ({
      ...f,
      member: f.member ?? (f.userId && userLabel.get(f.userId)) ?? "a member",
    })),
  };
}

interface StatementRow {
  month: string;
  label: string;
  closedAt: Date;
  openingMicros: bigint;
  creditsMicros: bigint;
  chargesMicros: bigint;
  seatFeesMicros: bigint;
  adjustmentsMicros: bigint;
  closingMicros: bigint;
  lines: unknown;
}

/** A month's statement: its closed snapshot, else computed live (open: not final). */
export async function readStatement(db: Db, accountId: string, month: string): Promise<Statement> {
  const [row] = await db<StatementRow[]>`
    select to_char(month, 'YYYY-MM') as month, label, closed_at as "closedAt", opening_micros as "openingMicros",
           credits_micros as "creditsMicros", charges_micros as "chargesMicros", seat_fees_micros as "seatFeesMicros",
           adjustments_micros as "adjustmentsMicros", closing_micros as "closingMicros", lines
    from statements where account_id = ${accountId} and month = ${`${month}-01`}::date`;
  if (!row) {
    const current = await currentMonth(db);
    if (month > current) throw notFound("A statement for that month");
    return computeStatement(db, accountId, month);
  }
  const { lines, label, ...totals } = row;
  const stored = linesFromJson(lines) as StatementLines & { calls?: number; version?: number };
  const { version, ...rest } = stored;
  const parsed = version === SNAPSHOT_VERSION ? { ...rest, ...(await withLabels(db, rest)) } : rest;
  const { start, end } = monthBounds(month);
  return {
    ...(await accountHolder(db, accountId)),
    ...parsed,
    ...totals,
    calls: parsed.calls ?? 0,
    status: "closed",
    number: label,
    periodStart: start,
    periodEnd: end,
  };
}

/** The actor's statement of a month in a scope (404 when the scope is not theirs to read). */
export async function statementFor(
  db: Db,
  actor: Actor,
  scope: StatementScope,
  month: string,
): Promise<Statement> {
  return readStatement(db, await statementAccount(db, actor, scope), month);
}

/**
 * Every month an account has a statement for, newest first: from the month of its first ledger entry to the current
 * month (at most 36), closed ones with their number, the others open.
 */
export async function listStatements(
  db: Db,
  actor: Actor,
  scope: StatementScope,
): Promise<StatementSummary[]> {
  const accountId = await statementAccount(db, actor, scope);
  const rows = await db<StatementSummary[]>`
    with bounds as (
      select date_trunc('month', coalesce(min(t.created_at), tollgate_now()) at time zone 'utc')::date as first,
             date_trunc('month', tollgate_now() at time zone 'utc')::date as last
      from ledger_entries e join ledger_transactions t on t.id = e.transaction_id where e.account_id = ${accountId}
    ),
    months as (
      select generate_series(greatest(b.first, (b.last - interval '35 months')::date), b.last, interval '1 month')::date as m
      from bounds b
    )
    select to_char(m.m, 'YYYY-MM') as month, case when s.id is null then 'open' else 'closed' end as status,
           s.label as number,
           coalesce(s.opening_micros, (
             select coalesce(sum(e.amount_micros), 0) from ledger_entries e join ledger_transactions t on t.id = e.transaction_id
             where e.account_id = ${accountId} and t.created_at < m.m::timestamp at time zone 'utc'))::bigint as "openingMicros",
           coalesce(s.closing_micros, (
             select coalesce(sum(e.amount_micros), 0) from ledger_entries e join ledger_transactions t on t.id = e.transaction_id
             where e.account_id = ${accountId}
               and t.created_at < (m.m + interval '1 month')::timestamp at time zone 'utc'))::bigint as "closingMicros"
    from months m left join statements s on s.account_id = ${accountId} and s.month = m.m
    order by m.m desc`;
  return rows;
}
