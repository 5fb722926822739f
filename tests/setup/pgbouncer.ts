// Debian's PgBouncer in transaction mode in front of the test PostgreSQL, as production reaches Supabase through its
// transaction pooler: a client's transaction gets one of a few server connections, the next one maybe another. Its
// configuration lives in a temporary folder, removed when it stops. scripts/test.mjs installs `pgbouncer` when missing.
import { type ChildProcess, spawn } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { reachable } from "../../scripts/ensure.mjs";

export interface PgBouncerOptions {
  /** The PostgreSQL it pools, as a postgres:// URL (its host, port, user and password are used). */
  upstreamUrl: string;
  port: number;
  /** Server connections per database and user: small, so clients really share them. */
  poolSize?: number;
}

export interface RunningPgBouncer {
  /** A URL to `database` through the pooler (same user and password as the upstream). */
  url: (database: string) => string;
  port: number;
  poolSize: number;
  stop: () => Promise<void>;
}

export const PGBOUNCER_PATHS = ["/usr/sbin/pgbouncer", "/usr/bin/pgbouncer", "/usr/local/bin/pgbouncer"];

export function pgbouncerBinary(): string {
  const found = [process.env.PGBOUNCER_BIN, ...PGBOUNCER_PATHS].find((p) => p && existsSync(p));
  if (!found)
    throw new Error("pgbouncer is not installed: `npm test` installs it (or: apt-get install pgbouncer)");
  return found;
}

const accepts = (port: number) => reachable("127.0.0.1", port);

/** pgbouncer.ini's quoting of a userlist entry: "name" "password", a double quote doubled. */
const quoted = (s: string) => `"${s.replaceAll('"', '""')}"`;

export async function startPgBouncer({
  upstreamUrl,
  port,
  poolSize = 3,
}: PgBouncerOptions): Promise<RunningPgBouncer> {
  const upstream = new URL(upstreamUrl);
  const user = decodeURIComponent(upstream.username);
  const password = decodeURIComponent(upstream.password);
  if (await accepts(port)) throw new Error(`port ${port} for PgBouncer is already taken`);
  const dir = mkdtempSync(path.join(os.tmpdir(), "tollgate-pgbouncer-"));
  // PgBouncer refuses to run as root: it then runs as the postgres user, which must read this folder.
  chmodSync(dir, 0o755);
  const userlist = path.join(dir, "userlist.txt");
  writeFileSync(userlist, `${quoted(user)} ${quoted(password)}\n`, { mode: 0o644 });
  const ini = path.join(dir, "pgbouncer.ini");
  writeFileSync(
    ini,
    [
      "[databases]",
      // Every database (each test file clones its own) through one rule, each with its own pool.
      `* = host=${upstream.hostname} port=${upstream.port || 5432}`,
      "[pgbouncer]",
      "listen_addr = 127.0.0.1",
      `listen_port = ${port}`,
      "unix_socket_dir =",
      "auth_type = md5",
      `auth_file = ${userlist}`,
      `admin_users = ${user}`,
      `stats_users = ${user}`,
      "pool_mode = transaction",
      `default_pool_size = ${poolSize}`,
      "min_pool_size = 0",
      "reserve_pool_size = 0",
      "max_client_conn = 2000",
      // A client waiting longer than this for a server connection fails (instead of hanging a test).
      "query_wait_timeout = 60",
      "server_reset_query =",
      "server_check_delay = 10",
      "log_connections = 0",
      "log_disconnections = 0",
      "",
    ].join("\n"),
    { mode: 0o644 },
  );
  const args = process.getuid?.() === 0 ? ["-u", "postgres", ini] : [ini];
  const recent: string[] = [];
  const child: ChildProcess = spawn(pgbouncerBinary(), args, { stdio: ["ignore", "pipe", "pipe"] });
  const remember = (chunk: Buffer) => {
    for (const line of chunk.toString().split("\n").filter(Boolean)) {
      recent.push(line);
      if (recent.length > 20) recent.shift();
    }
  };
  child.stdout?.on("data", remember);
  child.stderr?.on("data", remember);
  let exited = false;
  const gone = new Promise<void>((resolve) =>
    child.on("exit", () => {
      exited = true;
      resolve();
    }),
  );
  for (let i = 0; i < 100 && !exited && !(await accepts(port)); i++)
    await new Promise((r) => setTimeout(r, 50));
  if (exited || !(await accepts(port))) {
    child.kill("SIGTERM");
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`pgbouncer did not start on port ${port}:\n${recent.join("\n")}`);
  }
  return {
    port,
    poolSize,
    url: (database) => {
      const url = new URL(upstreamUrl);
      url.hostname = "127.0.0.1";
      url.port = String(port);
      url.pathname = `/${database}`;
      return url.toString();
    },
    stop: async () => {
      // SIGINT: PgBouncer's "safe shutdown" waits for clients; SIGTERM closes at once (the run is over).
      if (!exited) child.kill("SIGTERM");
      await Promise.race([gone, new Promise((r) => setTimeout(r, 5000))]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
