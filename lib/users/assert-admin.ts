import type { Actor } from "@/lib/auth/types";
import { isAdmin } from "@/lib/auth/visibility";
import { forbidden } from "@/lib/http/errors";

/** Domain verbs check the actor themselves, so a route that forgets its role check still cannot act. */
export function assertAdmin(actor: Actor): void {
  if (!isAdmin(actor)) throw forbidden("Only administrators can do this.");
}
