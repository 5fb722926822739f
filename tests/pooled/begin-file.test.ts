// Behind PgBouncer (transaction mode) createClient's own begin (DATABASE_PREPARE=false, lib/db/client.ts) watches a
// query read from a file (tx.file) as it watches the others: a failed one fails the transaction even when the body
// caught its error, instead of a COMMIT of the aborted transaction quietly rolling back and resolving.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, inject, it } from "vitest";
import { createClient } from "@/lib/db/client";
import { createTestDatabase } from "../helpers/db";

const pooledUrl = inject("pooledDatabaseUrl");
if (!pooledUrl) throw new Error("tests/pooled run in the pooled project only (vitest --project pooled)");
const { sql, url, prepare } = await createTestDatabase();
const pooled = createClient({ url, max: 2, prepare });
afterAll(() => pooled.end({ timeout: 1 }));

await sql`create table begin_file (id text primary key)`;
const dir = mkdtempSync(path.join(tmpdir(), "tollgate-begin-file-"));
const duplicate = path.join(dir, "duplicate.sql");
writeFileSync(duplicate, "insert into begin_file values ('file-a')\n");

describe("a transaction behind the pooler", () => {
  it("is failed by a query read from a file that failed, even when the body caught it", async () => {
    expect(prepare).toBe(false);
    await expect(
      pooled.begin(async (tx) => {
        await tx`insert into begin_file values ('file-a')`;
        await tx.file(duplicate).catch(() => "handled");
        return "done";
      }),
    ).rejects.toMatchObject({ code: "23505" });
    expect(await sql`select id from begin_file`).toEqual([]);
  });
});
