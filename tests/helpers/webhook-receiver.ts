// A customer's webhook receiver for tests (issue 28): a plain local HTTP server that keeps every request it gets
// (headers and raw body, for verification with the Standard Webhooks reference library) and answers as told.
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";

export interface Received {
  headers: Record<string, string>;
  body: string;
  at: number;
}

export interface Receiver {
  url: string;
  port: number;
  received: Received[];
  /** How to answer the next requests: a status (and optional headers and body). Default 200. */
  answer: (
    req: Received,
    index: number,
  ) => { status: number; headers?: Record<string, string>; body?: string };
  close(): Promise<void>;
}

const flat = (headers: IncomingHttpHeaders) =>
  Object.fromEntries(
    Object.entries(headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(", ") : (v ?? "")]),
  );

export async function startReceiver(): Promise<Receiver> {
  const receiver = {
    received: [] as Received[],
    answer: (() => ({ status: 200, body: "ok" })) as Receiver["answer"],
  } as Receiver;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const got: Received = {
        headers: flat(req.headers),
        body: Buffer.concat(chunks).toString("utf8"),
        at: Date.now(),
      };
      receiver.received.push(got);
      const a = receiver.answer(got, receiver.received.length - 1);
      res.writeHead(a.status, { "content-type": "text/plain", ...a.headers });
      res.end(a.body ?? "");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  receiver.port = port;
  receiver.url = `http://127.0.0.1:${port}/hooks`;
  receiver.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return receiver;
}
