import type { Actor } from "@/lib/auth/types";
import { forbidden } from "@/lib/http/errors";

/** Domain verbs check the actor themselves, so a route that forgets its role check still cannot act. */
export function assertAdmin(actor: Actor): void {
  if (actor.kind === "user" && actor.role !== "admin") throw forbidden("Only administrators can do this.");
}
