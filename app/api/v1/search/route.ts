import { db } from "@/lib/db";
import { parseQuery } from "@/lib/http/body";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";
import { searchQuery } from "@/lib/search/schemas";
import { search } from "@/lib/search/search";

/** The command palette's search (`?q=`): users (admins), API keys and calls by call id, as the caller may see them. */
export const GET = withSession({}, async ({ req, actor }) =>
  json(await search(db(), actor, parseQuery(req, searchQuery).q)),
);
