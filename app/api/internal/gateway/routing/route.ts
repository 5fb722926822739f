import { db } from "@/lib/db";
import { withGateway } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";
import { gatewayRouting } from "@/lib/routing/gateway";

/** The gateway's routing definitions (virtual models, priced candidates), cached there ~30 s. */
export const GET = withGateway(async () => json(await gatewayRouting(db())));
