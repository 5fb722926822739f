// The stack's process group refuses to start a server on a port something already listens on: the old process would
// answer the readiness check while the new one failed to bind, and the stack would run against the old one.
import { existsSync, mkdtempSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ProcessGroup } from "@/scripts/stack/processes";

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

async function healthyServer(port = 0): Promise<number> {
  const server = createServer((_req, res) => res.end("ok"));
  servers.push(server);
  await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
  return (server.address() as AddressInfo).port;
}

/** A process that, if it ever ran, would leave a file behind. */
function spec(port: number, marker: string) {
  return {
    name: "server",
    command: process.execPath,
    args: ["-e", `require("node:fs").writeFileSync(${JSON.stringify(marker)}, "ran")`],
    ready: { url: `http://127.0.0.1:${port}/health`, timeoutMs: 5000 },
  };
}

describe("ProcessGroup.start", () => {
  it("refuses a port already in use, before starting anything", async () => {
    const port = await healthyServer();
    const marker = path.join(mkdtempSync(path.join(tmpdir(), "tollgate-proc-")), "ran");
    const group = new ProcessGroup();
    await expect(group.start(spec(port, marker))).rejects.toThrow(`port ${port} is already in use`);
    await group.stop();
    expect(existsSync(marker)).toBe(false);
  });

  it("starts on a free port and waits until it answers", async () => {
    const probe = await healthyServer();
    await new Promise((r) => servers.pop()!.close(r)); // the port is free again
    const group = new ProcessGroup();
    try {
      const running = await group.start({
        name: "server",
        command: process.execPath,
        args: [
          "-e",
          `require("node:http").createServer((q, s) => s.end("ok")).listen(${probe}, "127.0.0.1")`,
        ],
        ready: { url: `http://127.0.0.1:${probe}/health`, timeoutMs: 10_000 },
      });
      expect(running.child.exitCode).toBeNull();
    } finally {
      await group.stop();
    }
  });
});
