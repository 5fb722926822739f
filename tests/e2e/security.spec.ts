// The review's browser-side attacks, replayed in Chromium against `next start`: a same-site page forging
// requests with the victim's cookie, framing the dashboard, and guessing passwords behind spoofed addresses.
import { createServer, type Server } from "node:http";
import { expect, type Page, test } from "@playwright/test";
import { developer, login, signedInAs, snap } from "./helpers";

const ATTACKER_PORT = 3199;
let attacker: Server;
let attackerPage = "";

test.beforeAll(async () => {
  // A page on another port of the same host: same-site, so SameSite=Lax cookies ride along with its forms.
  attacker = createServer((_req, res) => {
    res.writeHead(200, { "content-type": "text/html" });
    res.end(attackerPage);
  });
  await new Promise<void>((resolve) => attacker.listen(ATTACKER_PORT, "127.0.0.1", resolve));
});
test.afterAll(async () => {
  await new Promise((resolve) => attacker.close(resolve));
});

/** The developer's keys, read the way the dashboard reads them. */
async function myKeys(page: Page): Promise<{ id: string; name: string; status: string }[]> {
  return page.evaluate(async () => (await (await fetch("/api/v1/keys?pageSize=100")).json()).items);
}

test("a same-site page cannot rotate, revoke or create a signed-in developer's keys", async ({
  page,
  baseURL,
}) => {
  await signedInAs(page, "developer");
  const created = await page.evaluate(async () => {
    const res = await fetch("/api/v1/keys", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "csrf-target" }),
    });
    return (await res.json()).key.id as string;
  });
  const before = await myKeys(page);
  expect(before.find((k) => k.id === created)?.status).toBe("active");

  // 1. An auto-submitting form (a top-level POST navigation, which SameSite=Lax lets through same-site).
  attackerPage = `<!doctype html><form id="f" method="POST" action="${baseURL}/api/v1/keys/${created}/rotate">
    <input name="x" value="1"></form><script>document.getElementById("f").submit()</script>`;
  const refused = page.waitForResponse((r) => r.url().endsWith(`/api/v1/keys/${created}/rotate`));
  await page.goto(`http://127.0.0.1:${ATTACKER_PORT}/`);
  const response = await refused;
  expect(response.status()).toBe(403);
  expect((await response.json()).error.code).toBe("cross_site_request");
  await snap(page, "90-csrf-form-refused");

  // 2. The JSON-body trick (text/plain form) and a credentialed fetch DELETE from the same page.
  attackerPage = `<!doctype html><body><form id="f" method="POST" enctype="text/plain" action="${baseURL}/api/v1/keys">
    <input name='{"name":"planted","x":"' value='"}'></form><script>
    fetch("${baseURL}/api/v1/keys/${created}", { method: "DELETE", credentials: "include" }).catch(() => {})
      .finally(() => document.getElementById("f").submit());</script></body>`;
  const planted = page.waitForResponse(
    (r) => r.url().endsWith("/api/v1/keys") && r.request().method() === "POST",
  );
  await page.goto(`http://127.0.0.1:${ATTACKER_PORT}/`);
  expect((await planted).status()).toBe(403);
  await page.waitForURL(`${baseURL}/api/v1/keys`);
  await snap(page, "90-csrf-json-trick-refused");

  await page.goto("/account/keys");
  const after = await myKeys(page);
  expect(after.find((k) => k.id === created)?.status).toBe("active");
  expect(after.map((k) => k.name)).not.toContain("planted");
  expect(after).toHaveLength(before.length);
});

test("every kind of page carries the security headers, and the dashboard cannot be framed", async ({
  page,
  request,
}) => {
  const violations: string[] = [];
  page.on("console", (m) => {
    if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
  });
  const pages = ["/login", "/account", "/admin/users", "/this-page-does-not-exist"];
  for (const path of pages) {
    const res = await request.get(path, { maxRedirects: 0 });
    const h = res.headers();
    expect(h["x-frame-options"], path).toBe("DENY");
    expect(h["x-content-type-options"], path).toBe("nosniff");
    expect(h["referrer-policy"], path).toBe("strict-origin-when-cross-origin");
    expect(h["permissions-policy"], path).toContain("camera=()");
    expect(h["content-security-policy"], path).toMatch(
      /script-src 'self' 'nonce-[A-Za-z0-9+/=]+' 'strict-dynamic'/,
    );
    expect(h["content-security-policy"], path).toContain("frame-ancestors 'none'");
  }
  // Two loads, two nonces.
  const [a, b] = await Promise.all([request.get("/login"), request.get("/login")]);
  expect(a.headers()["content-security-policy"]).not.toBe(b.headers()["content-security-policy"]);
  const api = await request.get("/api/health");
  expect(api.headers()["x-content-type-options"]).toBe("nosniff");
  expect(api.headers()["x-frame-options"]).toBe("DENY");

  // The pages still work under the policy (scripts carry the nonce): sign in and look around.
  await login(page, developer().email, developer().password);
  await expect(page.getByRole("heading").first()).toBeVisible();
  expect(violations).toEqual([]);

  // Framed by another site: the browser refuses to render it.
  attackerPage = `<!doctype html><h1>attacker</h1><iframe id="victim" src="${page.url()}" width="800" height="500"></iframe>`;
  await page.goto(`http://127.0.0.1:${ATTACKER_PORT}/`);
  await page.waitForTimeout(1000);
  const frame = page.frames().find((f) => f !== page.mainFrame());
  const framedText = frame
    ? await frame.evaluate(() => document.body?.textContent ?? "").catch(() => "")
    : "";
  expect(framedText).not.toContain("Sign out");
  expect(framedText).not.toContain("Balance");
  await snap(page, "91-framing-refused");
});

test("rotating X-Forwarded-For does not buy more password guesses", async ({ request, baseURL }) => {
  const attempt = (i: number) =>
    request.post("/api/auth/login", {
      headers: { origin: baseURL!, "x-forwarded-for": `198.51.100.${i}` },
      data: { email: "guess-target@example.com", password: `guess-${i}` },
    });
  const statuses: number[] = [];
  for (let i = 0; i < 10; i++) statuses.push((await attempt(i)).status());
  expect(statuses.slice(0, 8)).toEqual(Array(8).fill(401));
  expect(statuses.slice(8)).toEqual([429, 429]);
});
