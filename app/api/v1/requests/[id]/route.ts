import { z } from "zod";
import { requestDetail } from "@/lib/analytics/requests";
import { db } from "@/lib/db";
import { parseQuery } from "@/lib/http/body";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";
import { utcDay } from "@/lib/http/schemas";

/** The call's UTC day (the request log knows it): the look-up then reads that day's partition only. */
const query = z.strictObject({ day: utcDay().optional() });

/** One call with its hold or lease, ledger transaction and price version (admins). */
export const GET = withSession({ role: "admin" }, async ({ req, params, actor }) =>
  json({ request: await requestDetail(db(), actor, params.id ?? "", parseQuery(req, query).day) }),
);
