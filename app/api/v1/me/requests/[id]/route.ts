import { z } from "zod";
import { requestDetail } from "@/lib/analytics/requests";
import { ownView } from "@/lib/auth/visibility";
import { db } from "@/lib/db";
import { parseQuery } from "@/lib/http/body";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";
import { utcDay } from "@/lib/http/schemas";

/** The call's UTC day (the request log knows it): the look-up then reads that day's partition only. */
const query = z.strictObject({ day: utcDay().optional() });

/** The signed-in person's own calls only, whatever their role (ownView; provider cost for admins only). */
export const GET = withSession({}, async ({ req, params, actor }) =>
  json({ request: await requestDetail(db(), ownView(actor), params.id ?? "", parseQuery(req, query).day) }),
);
