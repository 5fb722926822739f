import "server-only";
import { listRequests, type RequestRow } from "@/lib/analytics/requests";
import { requestLogQuery } from "@/lib/analytics/schemas";
import type { Actor } from "@/lib/auth/types";
import { ownView } from "@/lib/auth/visibility";
import { dailySpend } from "@/lib/billing/accounts";
import { type Account, getAccount } from "@/lib/billing/ledger";
import type { Db } from "@/lib/db/client";
import { listKeys } from "@/lib/keys/list";
import { playgroundModels } from "@/lib/playground/models";

// A person's home: what the existing reads say about their own account, keys, calls and models, gathered for one
// page. Nothing here decides money: balances and charges are the ledger's, as getAccount and dailySpend read them.

/** The days the burn rate averages over: the last seven UTC days, today included. */
export const BURN_DAYS = 7;

export interface HomeKey {
  id: string;
  name: string;
  prefix: string;
  allowedModels: string[];
}

export interface HomePlanGrant {
  monthlyGrantMicros: bigint;
  /** The UTC day the next monthly grant is due (the first of next month); the daily cron pays it then. */
  nextGrantDay: string;
  lastGrantAt: Date | null;
}

export interface HomeOverview {
  account: Account | null;
  /** Charged in the last BURN_DAYS UTC days (settled calls), their average per day, and days the available
   *  balance lasts at that pace (null: nothing charged, so no pace to measure). */
  burn: { chargedMicros: bigint; averageDailyMicros: bigint; daysLeft: number | null };
  grant: HomePlanGrant | null;
  recentCalls: RequestRow[];
  /** The newest active app key (the one the quick start names), and how many active app keys there are. */
  key: HomeKey | null;
  activeKeys: number;
  /** A chat model the person (and that key) may call through the gateway's chat route; null when none. */
  chatModel: string | null;
}

export async function homeOverview(db: Db, actor: Actor & { userId: string }): Promise<HomeOverview> {
  const own = ownView(actor);
  const account = await getAccount(db, { userId: actor.userId });
  const since = new Date(Date.now() - 90 * 86_400_000).toISOString();
  const [daily, grant, calls, keys, models] = await Promise.all([
    account ? dailySpend(db, own, account.id, BURN_DAYS) : Promise.resolve([]),
    db<{ monthlyGrantMicros: bigint; nextGrantDay: string; lastGrantAt: Date | null }[]>`
      select p.monthly_grant_micros as "monthlyGrantMicros",
             to_char(date_trunc('month', tollgate_now() at time zone 'utc') + interval '1 month', 'YYYY-MM-DD')
               as "nextGrantDay",
             (select max(t.created_at) from ledger_transactions t join ledger_entries e on e.transaction_id = t.id
              join accounts a on a.id = e.account_id
              where t.kind = 'grant' and a.owner_user_id = u.id) as "lastGrantAt"
      from users u join plans p on p.id = u.plan_id
      where u.id = ${actor.userId} and coalesce(p.monthly_grant_micros, 0) > 0`,
    listRequests(db, own, requestLogQuery.parse({ from: since, limit: "5" })),
    listKeys(db, own, { status: "active", page: 1, pageSize: 100 }),
    playgroundModels(db, own),
  ]);

  const chargedMicros = daily.reduce((sum, day) => sum + BigInt(day.revenueMicros), 0n);
  const averageDailyMicros = chargedMicros / BigInt(BURN_DAYS);
  const availableMicros = account ? account.balanceMicros - account.heldMicros : 0n;
  const daysLeft =
    averageDailyMicros > 0n
      ? Number((availableMicros > 0n ? availableMicros : 0n) / averageDailyMicros)
      : null;

  const now = Date.now();
  const appKeys = keys.items.filter(
    (k) => k.purpose === "app" && (k.expiresAt === null || k.expiresAt.getTime() > now),
  );
  const newest = appKeys[0] ?? null;
  const chatModels = models.items.filter((m) => m.api === "chat").map((m) => m.name);
  const allowed = (name: string) =>
    !newest || newest.allowedModels.length === 0 || newest.allowedModels.includes(name);
  const chatModel =
    models.defaultModel && chatModels.includes(models.defaultModel) && allowed(models.defaultModel)
      ? models.defaultModel
      : (chatModels.find(allowed) ?? null);

  return {
    account,
    burn: { chargedMicros, averageDailyMicros, daysLeft },
    grant: grant[0] ?? null,
    recentCalls: calls.items,
    key: newest
      ? { id: newest.id, name: newest.name, prefix: newest.prefix, allowedModels: newest.allowedModels }
      : null,
    activeKeys: appKeys.length,
    chatModel,
  };
}
