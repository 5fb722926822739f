// Database tasks for the local stack and CI: `migrate`, `seed` (demo data), or both in order.
//   DATABASE_URL=postgres://… node --conditions=react-server --import tsx scripts/db.ts migrate seed
// And, for engineers: a migration from the SQL functions' source files (no database needed).
//   npm run db:function-migration place_hold settle_usage
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { createClient } from "@/lib/db/client";
import { functionMigration } from "@/lib/db/functions";
import { MIGRATIONS_DIR, migrate } from "@/lib/db/migrate";
import { type DemoCredentials, seedDemo } from "@/lib/seed/demo";

const CREDENTIALS_FILE = path.join(process.cwd(), ".data", "demo-credentials.json");

async function main() {
  const tasks = process.argv.slice(2);
  if (tasks[0] === "function-migration") {
    const names = tasks.slice(1).filter((t) => t !== "--contract");
    const { file, sql } = functionMigration(names, { contract: tasks.includes("--contract") });
    writeFileSync(path.join(MIGRATIONS_DIR, file), sql);
    console.log(`wrote supabase/migrations/${file}`);
    return;
  }
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error("DATABASE_URL is required (npm run up starts a local database and sets it).");
  if (!tasks.length || tasks.some((t) => t !== "migrate" && t !== "seed")) {
    throw new Error("usage: scripts/db.ts migrate|seed [migrate|seed]");
  }
  const sql = createClient({ url, max: 2, applicationName: "tollgate-db-task" });
  try {
    for (const task of tasks) {
      if (task === "migrate") {
        const applied = await migrate(sql, { log: (line) => console.log(`  ${line}`) });
        console.log(applied.length ? `migrations: ${applied.length} applied` : "migrations: up to date");
      } else {
        const known: Partial<DemoCredentials> = existsSync(CREDENTIALS_FILE)
          ? JSON.parse(readFileSync(CREDENTIALS_FILE, "utf8"))
          : {};
        const pepper = process.env.KEY_PEPPER;
        if (!pepper) throw new Error("KEY_PEPPER is required to seed the demo key.");
        const result = await seedDemo(sql, known, { pepper });
        const { created, ...credentials } = result;
        if (created.length || !existsSync(CREDENTIALS_FILE)) {
          mkdirSync(path.dirname(CREDENTIALS_FILE), { recursive: true });
          writeFileSync(CREDENTIALS_FILE, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600 });
        }
        console.log(
          created.length ? `seed: created ${created.join(", ")}` : "seed: demo data already present",
        );
      }
    }
  } finally {
    await sql.end({ timeout: 5 });
  }
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
