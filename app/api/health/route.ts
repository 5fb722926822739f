import { db } from "@/lib/db";
import { checkHealth } from "@/lib/health";
import { route } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";

export const GET = route(async () => {
  const health = await checkHealth(db());
  return json(health, { status: health.status === "ok" ? 200 : 503 });
});
