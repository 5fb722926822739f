// Seat fees in the browser, on the real stack (issue 25: "seat fees appear in the ledger at the month's start"): a
// platform admin creates a plan with a seat price on /admin/plans and gives it to an organization on its admin page;
// a teammate joins by invitation and the queue charges their seat for the rest of the UTC month (ceil(fee × days
// left, today included / days in the month), computed here from the database's own UTC date, so it holds on any day,
// a month's last or 29 February); the month job — enqueued the way the daily cron enqueues it, run by the queue's
// drain — charges the full fee of a member who was there before the month began. The owner reads both on the
// organization's billing page: the seat charges table and the ledger, whose rows say "Seat fee".
import { randomUUID } from "node:crypto";
import { expect, type Page, test } from "@playwright/test";
import { creditAccount } from "@/lib/billing/ledger";
import { displayMicros } from "@/lib/billing/money";
import { createClient, type Sql } from "@/lib/db/client";
import { enqueue } from "@/lib/queue";
import { TEST_CRON_SECRET, TEST_KEY_PEPPER } from "../stack/start";
import { fundedDeveloper, navLink, signedInAs, signIn, snap } from "./helpers";

const PASSWORD = "org-seats-e2e-password";
const SEAT_MICROS = 7_310_000n; // $7.31 a seat a month: a share of it rounds on every month length
const FUNDS_MICROS = 50_000_000n;

/** Runs the queue (what /api/cron/drain does every minute) until `done` answers true. */
async function drainUntil(page: Page, done: () => Promise<boolean>, what: string) {
  await expect
    .poll(
      async () => {
        const res = await page.request.get("/api/cron/drain", {
          headers: { authorization: `Bearer ${TEST_CRON_SECRET}` },
        });
        expect(res.status()).toBe(200);
        return done();
      },
      { message: what, timeout: 30_000, intervals: [500] },
    )
    .toBe(true);
}

/** Whether every queued job of `name` for the organization has finished. */
async function jobsDone(sql: Sql, name: string, organizationId: string): Promise<boolean> {
  const [row] = await sql<{ open: number; dead: number }[]>`
    select count(*) filter (where state in ('created', 'active', 'retry'))::int as open,
           count(*) filter (where state = 'dead')::int as dead
    from queue_jobs where name = ${name} and payload->>'organizationId' = ${organizationId}`;
  expect(row!.dead, `a ${name} job died`).toBe(0);
  return row!.open === 0;
}

/** A seat's fee from `day` (YYYY-MM-DD, UTC) to the month's end: ceil(fee × days left, day included / days). */
function prorated(feeMicros: bigint, day: string): { micros: bigint; daysLeft: number; daysInMonth: number } {
  const [year, month, date] = day.split("-").map(Number) as [number, number, number];
  // Day 0 of the next month is this month's last day: 28, 29, 30 or 31.
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  const daysLeft = daysInMonth - date + 1;
  const micros = (feeMicros * BigInt(daysLeft) + BigInt(daysInMonth) - 1n) / BigInt(daysInMonth);
  return { micros, daysLeft, daysInMonth };
}

test("a plan's seat price is charged through the queue: a joining member prorated, earlier members in full at the month's start, both in the organization's ledger", async ({
  browser,
}) => {
  test.setTimeout(120_000);
  const sql = createClient({ url: process.env.E2E_DATABASE_URL!, max: 1 });
  try {
    const { createOrg } = await import("@/lib/orgs/create");
    const { acceptInvitation, createInvitation } = await import("@/lib/orgs/invitations");
    const { ORG_SEAT_JOIN_JOB, ORG_SEATS_MONTH_JOB } = await import("@/lib/orgs/jobs");
    const { enqueueSeatMonth } = await import("@/lib/orgs/seats");
    const person = (prefix: string) =>
      fundedDeveloper(sql, { prefix, keyName: `${prefix} key`, amountMicros: 0n, password: PASSWORD });
    const [owner, veteran, joiner] = [
      await person("seats-owner"),
      await person("seats-veteran"),
      await person("seats-joiner"),
    ];
    const ownerActor = { userId: owner.userId, kind: "user" as const, role: "developer" as const };
    const org = await createOrg(sql, ownerActor, { name: `Seatco ${randomUUID().slice(0, 6)}` });
    await creditAccount(
      sql,
      { userId: null, kind: "system" },
      {
        accountId: org.account.id,
        amountMicros: FUNDS_MICROS,
        kind: "grant",
        reason: "e2e seats",
        idempotencyKey: randomUUID(),
      },
    );
    // A member since before this UTC month (the database's): the month job charges them the whole fee. Inserted in
    // SQL with its joined_at, so the app's clock never moves.
    const [dates] = await sql<{ month: string; lastMonthDay: string }[]>`
      select to_char(date_trunc('month', now() at time zone 'utc'), 'YYYY-MM-DD') as month,
             to_char(date_trunc('month', now() at time zone 'utc') - interval '1 day', 'YYYY-MM-DD') as "lastMonthDay"`;
    const { month, lastMonthDay } = dates!;
    await sql`
      insert into organization_members (organization_id, user_id, role, invited_by, joined_at)
      values (${org.id}, ${veteran.userId}, 'member', ${owner.userId},
              (${lastMonthDay}::date + time '12:00') at time zone 'utc')`;
    // The owner's seat job (enqueued by the creation) runs now, as the queue would within a minute: no plan yet,
    // so no fee — a plan given mid-month is first charged at the next month's start.
    const cron = await browser.newContext();
    const cronPage = await cron.newPage();
    await drainUntil(cronPage, () => jobsDone(sql, ORG_SEAT_JOIN_JOB, org.id), "the owner's seat job ran");

    // 1. A platform admin creates a plan with a seat price on /admin/plans.
    const adminContext = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const adminPage = await adminContext.newPage();
    await signedInAs(adminPage, "admin");
    await navLink(adminPage, "Plans").click();
    const planName = `Seats ${randomUUID().slice(0, 6)}`;
    await adminPage.getByRole("button", { name: "New plan" }).click();
    const dialog = adminPage.getByRole("dialog");
    await dialog.getByLabel("Name", { exact: true }).fill(planName);
    await dialog.getByLabel("Description").fill("Seats for the e2e organization");
    await dialog.getByLabel("Seat price per month (USD)").fill("7.31");
    await snap(adminPage, "org-40-plan-seat-price");
    await dialog.getByRole("button", { name: "Create plan" }).click();
    await expect(adminPage.getByTestId(`plan-seat-${planName}`)).toHaveText("$7.31");
    const [stored] = await sql<{ seat: bigint }[]>`
      select seat_price_micros as seat from plans where name = ${planName}`;
    expect(stored!.seat).toBe(SEAT_MICROS);

    // 2. … and gives it to the organization on its admin page.
    await adminPage.goto(`/admin/orgs/${org.id}`);
    await adminPage.getByLabel("Plan", { exact: true }).selectOption({ label: `${planName} · $7.31 a seat` });
    await adminPage.getByRole("button", { name: "Change plan" }).click();
    await expect(adminPage.getByTestId("org-plan")).toHaveText(planName);
    await snap(adminPage, "org-41-admin-org-plan");
    const [account] = await sql<{ plan: string | null }[]>`
      select p.name as plan from accounts a left join plans p on p.id = a.plan_id where a.id = ${org.account.id}`;
    expect(account!.plan).toBe(planName);

    // 3. A teammate joins by invitation (the owner's API verb; the token is the one the email job carries).
    const invitation = await createInvitation(
      sql,
      ownerActor,
      org.slug,
      { email: joiner.email, role: "member" },
      { pepper: TEST_KEY_PEPPER },
    );
    const [job] = await sql<{ token: string }[]>`
      select payload->>'token' as token from queue_jobs
      where name = 'org.invite.email' and payload->>'invitationId' = ${invitation.id}`;
    await acceptInvitation(sql, { userId: joiner.userId, kind: "user", role: "developer" }, job!.token, {
      pepper: TEST_KEY_PEPPER,
    });
    const [joined] = await sql<{ day: string }[]>`
      select to_char(joined_at at time zone 'utc', 'YYYY-MM-DD') as day from organization_members
      where organization_id = ${org.id} and user_id = ${joiner.userId}`;

    // 4. The month's start: the month job, enqueued the way the daily cron (app/api/cron/grants) does. Should an
    // earlier spec have ticked that cron this month, the job ran before this organization had its plan: run it again
    // (it charges nobody twice).
    const enqueued = await enqueueSeatMonth(sql);
    expect(enqueued.month).toBe(month);
    if (!enqueued.enqueued) await enqueue(sql, ORG_SEATS_MONTH_JOB, { month });
    await drainUntil(
      cronPage,
      async () => {
        const [row] = await sql<{ n: number }[]>`
          select count(*)::int as n from seat_charges where organization_id = ${org.id} and status = 'paid'`;
        return row!.n === 2 && (await jobsDone(sql, ORG_SEAT_JOIN_JOB, org.id));
      },
      "both seats charged and paid",
    );

    // What the fees must be: the joiner from the day they joined (the database's UTC date), the veteran in full.
    const joining = prorated(SEAT_MICROS, joined!.day);
    expect(joined!.day.slice(0, 8)).toBe(month.slice(0, 8));
    const charges = await sql<{ user_id: string; month: string; amount: bigint; status: string }[]>`
      select user_id, to_char(month, 'YYYY-MM-DD') as month, amount_micros as amount, status
      from seat_charges where organization_id = ${org.id}`;
    const why = `joined ${joined!.day}: ${joining.daysLeft} of ${joining.daysInMonth} days`;
    expect(charges, why).toHaveLength(2);
    expect(charges, why).toEqual(
      expect.arrayContaining([
        { user_id: joiner.userId, month, amount: joining.micros, status: "paid" },
        { user_id: veteran.userId, month, amount: SEAT_MICROS, status: "paid" },
      ]),
    );

    // 5. The owner reads them on the organization's billing page: the seat charges and the ledger.
    const ownerContext = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const ownerPage = await ownerContext.newPage();
    await signIn(ownerPage, owner.email, PASSWORD, `/orgs/${org.slug}/billing`);
    const seats = ownerPage.getByTestId("seat-charges");
    await expect(seats).toContainText(`The ${planName} plan charges $7.31 a member a month`);
    await expect(seats.getByTestId("seat-row")).toHaveCount(2);
    const seatRow = (email: string) => seats.getByTestId("seat-row").filter({ hasText: email });
    for (const [who, micros] of [
      [joiner.email, joining.micros],
      [veteran.email, SEAT_MICROS],
    ] as const) {
      const row = seatRow(who);
      await expect(row).toContainText(month.slice(0, 7));
      await expect(row).toContainText("paid");
      await expect(row.locator(`[data-micros="${micros}"]`)).toHaveText(displayMicros(micros));
    }
    // The owner joined before the plan: their first seat is next month's.
    await expect(seatRow(owner.email)).toHaveCount(0);

    const ledger = ownerPage.getByTestId("ledger-row");
    const fees = ledger.filter({ hasText: "Seat fee for" });
    await expect(fees).toHaveCount(2);
    for (const [who, micros] of [
      [joiner.email, joining.micros],
      [veteran.email, SEAT_MICROS],
    ] as const) {
      const row = ledger.filter({ hasText: `Seat fee for ${month.slice(0, 7)}: ${who}` });
      await expect(row.locator("[data-kind=seat_fee]")).toHaveText("Seat fee");
      await expect(row.locator(`[data-micros="${-micros}"]`)).toHaveText(
        displayMicros(-micros, { sign: true }),
      );
    }
    await expect(ledger.filter({ hasText: "e2e seats" }).locator("[data-kind=grant]")).toHaveText("Grant");
    // The newest row's balance: the funds less both fees.
    const left = FUNDS_MICROS - SEAT_MICROS - joining.micros;
    await expect(ledger.first().locator(`[data-micros="${left}"]`)).toHaveText(displayMicros(left));
    await snap(ownerPage, "org-42-billing-seat-fees");
    await Promise.all([adminContext.close(), ownerContext.close(), cron.close()]);
  } finally {
    await sql.end();
  }
});
