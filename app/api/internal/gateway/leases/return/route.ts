import { returnLease } from "@/lib/billing/leases";
import { leaseReturnBody } from "@/lib/billing/schemas";
import { config } from "@/lib/config";
import { db } from "@/lib/db";
import { parseJson } from "@/lib/http/body";
import { withGateway } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";

/** A gateway process gives a lease back (idle, key changed, shutting down): what no call drew is released now. */
export const POST = withGateway(async ({ req }) => {
  const input = await parseJson(req, leaseReturnBody, 4 * 1024);
  return json(await returnLease(db(), input, { keepSeconds: config().LEASE_INFLIGHT_KEEP_SECONDS }));
});
