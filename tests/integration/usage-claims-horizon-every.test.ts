// How far retention moves the claims horizon, and how often it looks (docs/adr/0022): usage_claims_horizon_bound()
// is the start of the UTC day of the oldest partition still here, late call in usage_events_default or open hold;
// advance_usage_claims_horizon_every never passes it and looks at most once per its interval of the runs' moments,
// recorded in the horizon row (checked_at). Every moment is explicit: nothing here depends on today's date.
import { describe, expect, it } from "vitest";
import { createTestDatabase } from "../helpers/db";

const { sql } = await createTestDatabase();

const bound = async () =>
  (await sql<{ at: Date | null }[]>`select usage_claims_horizon_bound() as at`)[0]!.at?.toISOString() ?? null;

const advance = async (target: string, at: string, minutes = 15) =>
  (
    await sql<{ kept_from: Date }[]>`
      select advance_usage_claims_horizon_every(${target}::timestamptz, ${at}::timestamptz,
                                                make_interval(mins => ${minutes})) as kept_from`
  )[0]!.kept_from.toISOString();

const checkedAt = async () =>
  (
    await sql<{ at: Date | null }[]>`select checked_at as at from usage_claims_horizon`
  )[0]!.at?.toISOString() ?? null;

/** A late call's row in usage_events_default (a day with no partition), written directly. */
async function lateRow(startedAt: string): Promise<string> {
  const [row] = await sql<{ id: string }[]>`
    insert into usage_events (key_id, call_id, account_id, model_group, provider_model, status,
                              prompt_tokens, completion_tokens, started_at, ended_at, cost_micros,
                              revenue_micros)
    values (gen_random_uuid(), gen_random_uuid()::text, gen_random_uuid(), 'fake-small', 'x',
            'success', 1, 1, ${startedAt}, ${startedAt}, 1, 1)
    returning id::text`;
  return row!.id;
}

describe("the claims horizon's bound and pace", () => {
  it("stops at the day of a late call in the default partition, and looks once per interval", async () => {
    // 2001: older than any partition the database was made with, after the horizon it starts at (2000).
    const late = await lateRow("2001-06-15T13:30:00Z");
    expect(await bound()).toBe("2001-06-15T00:00:00.000Z");
    // The target is past the bound: the horizon stops at the late call's day.
    expect(await advance("2001-07-01T00:00:00Z", "2027-01-01T04:00:00Z")).toBe("2001-06-15T00:00:00.000Z");
    expect(await checkedAt()).toBe("2027-01-01T04:00:00.000Z");
    // The late call is gone, but within 15 minutes of the last look nothing is read and the horizon stays.
    await sql`delete from usage_events where id::text = ${late}`;
    expect(await advance("2001-07-01T00:00:00Z", "2027-01-01T04:10:00Z")).toBe("2001-06-15T00:00:00.000Z");
    expect(await checkedAt()).toBe("2027-01-01T04:00:00.000Z");
    // Past the interval it looks again and goes to the target.
    expect(await advance("2001-07-01T00:00:00Z", "2027-01-01T04:15:00Z")).toBe("2001-07-01T00:00:00.000Z");
    expect(await checkedAt()).toBe("2027-01-01T04:15:00.000Z");
    // Never back, whatever the target.
    expect(await advance("2001-01-01T00:00:00Z", "2027-01-01T05:00:00Z")).toBe("2001-07-01T00:00:00.000Z");
  });

  it("stops at the oldest partition still here", async () => {
    const [oldest] = await sql<{ from_at: Date }[]>`
      select min(from_at) as from_at from usage_partitions() where not is_default and from_at > '2000-01-01'`;
    expect(oldest?.from_at).toBeTruthy();
    expect(await bound()).toBe(oldest!.from_at.toISOString());
    expect(await advance("2099-01-01T00:00:00Z", "2027-01-02T04:00:00Z")).toBe(oldest!.from_at.toISOString());
  });
});
