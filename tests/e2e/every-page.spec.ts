import { randomBytes } from "node:crypto";
import { readdirSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { type BrowserContext, expect, type Page, test } from "@playwright/test";
import OpenAI from "openai";
import type Stripe from "stripe";
import { NAV } from "@/components/shell/nav";
import type { Role } from "@/lib/auth/types";
import { createClient, type Sql } from "@/lib/db/client";
import { handleStripeEvent } from "@/lib/payments/webhook";
import { fundedDeveloper, seriousViolations, signedInAs, snap } from "./helpers";

// Every page of both roles, at a laptop, a wide screen and a phone, with the data that makes tables wide (a long
// email, a $5,000 card payment, calls through the real gateway, a failed call): no page wider than its window, no
// card or table cell whose content spills out of it, text cut with an ellipsis only where the full value is on
// hover (a title), no console error or failed request, and no serious or critical accessibility violation (axe).
// The pages come from the sidebar's NAV and from the app's dynamic routes (e.g. /admin/accounts/[id], reached by
// the first link to one on its parent page), so a page added later is checked without editing this file.

// Each page is checked for fit at every size, and by axe at the desktop and the phone sizes: the wide desktop has the
// same DOM and colours as 1280 px (only the layout widens), where the phone's differs (the navigation in a sheet,
// stacked cards). axe was most of the sweep's time.
const VIEWPORTS = [
  { width: 1280, height: 800 },
  { width: 1920, height: 1080 },
  { width: 390, height: 844 },
] as const;
const AXE_WIDTHS = new Set<number>([1280, 390]);

const LONG_PREFIX = "layout-check-with-a-rather-long-email-address-of-someone";

/** The dashboard's dynamic routes ("/admin/accounts/[id]"), read from the app directory. */
function dynamicRoutes(): string[] {
  const root = join(process.cwd(), "app");
  const routes: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(join(dir, entry.name));
      else if (entry.name === "page.tsx") {
        const path = relative(root, dir)
          .split(sep)
          .filter((s) => !/^\(.*\)$/.test(s))
          .join("/");
        if (path.includes("[")) routes.push(`/${path}`);
      }
    }
  };
  walk(root);
  return routes.sort();
}

/** What a role may open: its NAV items, and each dynamic route under one of them (reached from its parent). */
function pagesOf(role: Role): { route: string; parent?: string }[] {
  const hrefs = NAV.filter((s) => s.roles.includes(role)).flatMap((s) => s.items.map((i) => i.href));
  const nested = dynamicRoutes()
    .map((route) => ({ route, parent: route.slice(0, route.indexOf("/[")) }))
    .filter(({ parent }) => hrefs.includes(parent));
  return [...hrefs.map((route) => ({ route })), ...nested];
}

/** Calls, a failure, a long email, a low balance and a card payment: once per run (a retried worker finds them). */
async function seedWideData(sql: Sql) {
  // Both workers of the sweep come here: one seeds, the other waits for it (a session lock on this one connection).
  await sql`select pg_advisory_lock(hashtext('e2e every-page wide data'))`;
  try {
    await seedWideDataOnce(sql);
  } finally {
    await sql`select pg_advisory_unlock(hashtext('e2e every-page wide data'))`;
  }
}

async function seedWideDataOnce(sql: Sql) {
  const [done] = await sql`select 1 from users where email like ${`${LONG_PREFIX}%`}`;
  if (done) return;
  const [failing] = await sql<{ id: string }[]>`
    insert into models (public_name, litellm_model_group, provider, context_window, max_output_tokens)
    values ('fake-error-500', 'fake-error-500', 'fake', 16384, 4096)
    on conflict (public_name) do update set max_output_tokens = excluded.max_output_tokens returning id`;
  await sql`
    insert into price_versions (model_id, effective_from, input_cost_micros, output_cost_micros, input_price_micros, output_price_micros)
    values (${failing!.id}, now() - interval '1 day', 300000, 900000, 500000, 1500000) on conflict do nothing`;
  const wide = await fundedDeveloper(sql, {
    prefix: LONG_PREFIX,
    keyName: "a key with a long name for the layout check of every page",
  });
  // Running low: a threshold above the balance puts the account on the overview's list.
  await sql`update accounts set low_balance_micros = 9000000000 where id = ${wide.accountId}`;
  const session = `cs_test_${randomBytes(8).toString("hex")}`;
  await handleStripeEvent(sql, {
    id: `evt_${randomBytes(8).toString("hex")}`,
    type: "checkout.session.completed",
    data: {
      object: {
        id: session,
        payment_status: "paid",
        amount_total: 500_000,
        currency: "usd",
        payment_intent: `pi_${randomBytes(8).toString("hex")}`,
        metadata: { accountId: wide.accountId, userId: wide.userId },
      },
    },
  } as unknown as Stripe.Event);
  const call = async (apiKey: string, model: string, content: string) =>
    new OpenAI({ baseURL: process.env.E2E_GATEWAY_URL, apiKey, maxRetries: 0 }).chat.completions
      .create({ model, messages: [{ role: "user", content }], max_tokens: 8 })
      .then(
        () => true,
        () => false,
      );
  for (let i = 0; i < 3; i++) expect(await call(wide.secret, "fake-small", `wide ${i}`)).toBe(true);
  expect(await call(wide.secret, "fake-large", "wide large")).toBe(true);
  expect(await call(wide.secret, "fake-error-500", "fail")).toBe(false);
  expect(await call(process.env.E2E_DEV_KEY!, "fake-small", "seeded developer")).toBe(true);
  await expect
    .poll(
      async () =>
        (
          await sql`select count(*)::int as n from usage_events where key_id in (select id from api_keys where user_id = ${wide.userId})`
        )[0]!.n,
      { timeout: 30_000 },
    )
    .toBe(5);
}

/**
 * Console errors, page errors, failed requests and responses of 400 or more while a page is the current one. A
 * request cut short (net::ERR_ABORTED: a link prefetch Next.js drops, a poll a navigation ends) is cancelled, not
 * failed, as in the playground's spec.
 */
function watch(page: Page): { problems: string[] } {
  const w = { problems: [] as string[] };
  page.on("console", (m) => {
    if (m.type() === "error") w.problems.push(`console: ${m.text().slice(0, 300)}`);
  });
  page.on("pageerror", (e) => w.problems.push(`page error: ${e.message.slice(0, 300)}`));
  page.on("requestfailed", (r) => {
    if (r.failure()?.errorText === "net::ERR_ABORTED") return;
    w.problems.push(`request failed: ${r.method()} ${r.url()} ${r.failure()?.errorText}`);
  });
  page.on("response", (r) => {
    if (r.status() >= 400) w.problems.push(`${r.status()}: ${r.request().method()} ${r.url()}`);
  });
  return w;
}

/**
 * What spills in the page as laid out now: the document wider than the window, a card or table cell whose content
 * is wider than its box (a table that scrolls inside its own container is fine: the container clips it), and text
 * cut with an ellipsis without its full value in a title.
 */
async function overflows(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const out: string[] = [];
    const doc = document.documentElement;
    if (doc.scrollWidth > window.innerWidth)
      out.push(`page is ${doc.scrollWidth}px wide in a ${window.innerWidth}px window`);
    const name = (el: Element) => {
      const slot = el.getAttribute("data-slot");
      const what = slot ?? el.tagName.toLowerCase();
      const text = (el.textContent ?? "").replace(/\s+/g, " ").trim().slice(0, 60);
      return `${what} "${text}"`;
    };
    const titled = (el: Element) => el.closest("[title]") !== null;
    for (const el of document.querySelectorAll<HTMLElement>("[data-slot=card], td, th")) {
      if (el.clientWidth === 0 || titled(el)) continue;
      if (el.scrollWidth > el.clientWidth + 1)
        out.push(`${name(el)}: content ${el.scrollWidth}px in a ${el.clientWidth}px box`);
    }
    for (const el of document.querySelectorAll<HTMLElement>("main *")) {
      if (el.clientWidth === 0 || el.scrollWidth <= el.clientWidth + 1) continue;
      const style = getComputedStyle(el);
      if (style.textOverflow === "ellipsis" && !titled(el))
        out.push(`${name(el)}: cut with an ellipsis (${el.scrollWidth}px in ${el.clientWidth}px), no title`);
    }
    return out;
  });
}

/** Open a page and wait for its data: no loading placeholders, the network quiet. */
async function open(page: Page, url: string) {
  await page.goto(url);
  await page.waitForLoadState("networkidle");
  await expect(page.locator("[aria-busy=true], [data-testid=skeleton-row]")).toHaveCount(0);
  await expect(page.locator("main")).toBeVisible();
}

/** Two animation frames and a task: resize observers have run and what they set has rendered. */
async function relaidOut(page: Page) {
  await page.evaluate(
    () =>
      new Promise<void>((resolve) =>
        requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(resolve, 0))),
      ),
  );
}

const slug = (route: string) => route.replace(/^\//, "").replace(/[/[\]]+/g, "-") || "home";

for (const role of ["admin", "developer"] as const) {
  test.describe(`every ${role} page`, () => {
    let context: BrowserContext;
    let page: Page;
    let w: { problems: string[] };

    test.beforeAll(async ({ browser }) => {
      test.setTimeout(120_000);
      const sql = createClient({ url: process.env.E2E_DATABASE_URL!, max: 1 });
      await seedWideData(sql);
      await sql.end();
      context = await browser.newContext({ viewport: VIEWPORTS[0] });
      page = await context.newPage();
      await signedInAs(page, role);
      w = watch(page);
    });

    test.afterAll(async () => {
      await context?.close();
    });

    for (const { route, parent } of pagesOf(role)) {
      test(`${route} fits at 1280, 1920 and 390 px, loads cleanly and passes axe at 1280 and 390 px`, async () => {
        test.setTimeout(90_000);
        let url = route;
        if (parent) {
          // A nested page is reached the way a person reaches it: the first link to one on its parent page (a
          // link to the long-email account's page first, the widest one).
          await page.setViewportSize(VIEWPORTS[0]);
          await open(page, parent);
          const pattern = route.replace(/\[[^\]]+\]/g, "[^/?#]+");
          const links = await page
            .locator(`main a[href^="${parent}/"]`)
            .evaluateAll((as) =>
              as.map((a) => ({ href: a.getAttribute("href") ?? "", text: a.textContent ?? "" })),
            );
          const matching = links
            .filter((l) => new RegExp(`^${pattern}$`).test(l.href))
            .sort((a, b) => Number(b.text.includes(LONG_PREFIX)) - Number(a.text.includes(LONG_PREFIX)));
          expect(matching, `a link to ${route} on ${parent}`).not.toHaveLength(0);
          url = matching[0]!.href;
        }
        // Loaded once, then seen at each size as a window resized to it is (the server renders the same page for
        // every width; the layout, media queries and resize observers follow the window).
        const failures: string[] = [];
        await page.setViewportSize(VIEWPORTS[0]);
        w.problems = [];
        await open(page, url);
        for (const viewport of VIEWPORTS) {
          const size = `${viewport.width}x${viewport.height}`;
          if (viewport !== VIEWPORTS[0]) {
            await page.setViewportSize(viewport);
            await relaidOut(page);
          }
          let spills = await overflows(page);
          // A chart or table may still be catching up with the new width: look again once it has.
          if (spills.length > 0) {
            await page.waitForLoadState("networkidle");
            await relaidOut(page);
            spills = await overflows(page);
          }
          await snap(page, `every-${role}-${slug(route)}-${viewport.width}`);
          for (const p of spills) failures.push(`${size} ${p}`);
          if (AXE_WIDTHS.has(viewport.width))
            for (const p of await seriousViolations(page)) failures.push(`${size} ${p}`);
        }
        for (const p of w.problems) failures.push(`loading ${p}`);
        expect([...new Set(failures)], `${role} ${url}`).toEqual([]);
      });
    }
  });
}
