import { config } from "@/lib/config";
import { db } from "@/lib/db";
import { AppError, unauthorized } from "@/lib/http/errors";
import { route } from "@/lib/http/handler";
import { bearer, secretsEqual } from "@/lib/http/secrets";
import { scrape } from "@/lib/metrics/scrape";

/** Prometheus metrics, for a scraper holding METRICS_TOKEN (compared in constant time). */
export const GET = route(async ({ req }) => {
  const token = config().METRICS_TOKEN;
  if (!token) throw new AppError("not_found", "Metrics are off: set METRICS_TOKEN to turn them on.");
  if (!secretsEqual(bearer(req), token)) throw unauthorized("Metrics token missing or wrong.");
  const { contentType, body } = await scrape(db());
  return new Response(body, { headers: { "content-type": contentType, "cache-control": "no-store" } });
});
