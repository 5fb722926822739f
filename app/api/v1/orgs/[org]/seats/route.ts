import { db } from "@/lib/db";
import { parseQuery } from "@/lib/http/body";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";
import { listSeatCharges } from "@/lib/orgs/seats";
import { seatChargesQuery } from "./schema";

/** An organization's seat charges (member, month, amount, paid or due) and the total due: owners, admins, billing. */
export const GET = withSession({}, async ({ req, params, actor }) => {
  const query = parseQuery(req, seatChargesQuery);
  const seats = await listSeatCharges(db(), actor, params.org ?? "", query);
  return json({ ...seats, page: query.page, pageSize: query.pageSize });
});
