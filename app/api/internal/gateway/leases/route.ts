import { grantLease } from "@/lib/billing/leases";
import { leaseBody } from "@/lib/billing/schemas";
import { config } from "@/lib/config";
import { db } from "@/lib/db";
import { parseJson } from "@/lib/http/body";
import { AppError } from "@/lib/http/errors";
import { withGateway } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";
import { metrics } from "@/lib/metrics/registry";

/**
 * A gateway process asks for a lease, or tops up and extends the one it holds: a slice of the key's available
 * money it spends locally, call by call (docs/adr/0011). Refusals as for holds: 402 balance, 429 budget.
 */
export const POST = withGateway(async ({ req }) => {
  const input = await parseJson(req, leaseBody, 4 * 1024);
  try {
    const lease = await grantLease(db(), input, { ttlSeconds: config().LEASE_TTL_SECONDS });
    metrics().leaseGrants.inc({ outcome: lease.outcome });
    return json(lease);
  } catch (error) {
    metrics().leaseGrants.inc({ outcome: error instanceof AppError ? error.code : "error" });
    throw error;
  }
});
