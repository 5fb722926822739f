import { requestDetail } from "@/lib/analytics/requests";
import { ownView } from "@/lib/auth/visibility";
import { db } from "@/lib/db";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";

/** The signed-in person's own calls only, whatever their role (ownView; provider cost for admins only). */
export const GET = withSession({}, async ({ params, actor }) =>
  json({ request: await requestDetail(db(), ownView(actor), params.id ?? "") }),
);
