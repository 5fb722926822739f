import { requestDetail } from "@/lib/analytics/requests";
import { db } from "@/lib/db";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";

/** The developer's own calls only (the analytics libraries scope a non-admin to their user; no provider cost). */
export const GET = withSession({}, async ({ params, actor }) =>
  json({ request: await requestDetail(db(), actor, params.id ?? "") }),
);
