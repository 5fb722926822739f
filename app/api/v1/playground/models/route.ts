import { db } from "@/lib/db";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";
import { playgroundModels } from "@/lib/playground/models";

/** The models the caller may chat with, their prices in force, which are chat models, and the default pick. */
export const GET = withSession({}, async ({ actor }) => json(await playgroundModels(db(), actor)));
