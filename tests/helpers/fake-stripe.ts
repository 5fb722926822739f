// A local stand-in for Stripe's API, speaking its protocol: form-encoded requests, JSON objects back. The
// official `stripe` client is pointed at it with STRIPE_API_URL (host/port/protocol), as in production it
// talks to Stripe. Only what Tollgate calls is served: creating Checkout sessions.
import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";

export interface FakeStripe {
  url: string;
  /** Every Checkout session created, with the form fields the client sent. */
  sessions: {
    id: string;
    form: URLSearchParams;
    authorization: string | undefined;
    idempotencyKey?: string;
  }[];
  close: () => Promise<void>;
}

export async function startFakeStripe(): Promise<FakeStripe> {
  const sessions: FakeStripe["sessions"] = [];
  let base = "";
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const send = (status: number, body: unknown) => {
        res.writeHead(status, {
          "content-type": "application/json",
          "request-id": `req_${randomBytes(6).toString("hex")}`,
        });
        res.end(JSON.stringify(body));
      };
      if (req.method === "POST" && req.url === "/v1/checkout/sessions") {
        const form = new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
        const id = `cs_test_${randomBytes(12).toString("hex")}`;
        const idempotencyKey = req.headers["idempotency-key"] as string | undefined;
        sessions.push({ id, form, authorization: req.headers.authorization, idempotencyKey });
        const metadata: Record<string, string> = {};
        for (const [k, v] of form) {
          const m = /^metadata\[(.+)\]$/.exec(k);
          if (m) metadata[m[1]!] = v;
        }
        return send(200, {
          id,
          object: "checkout.session",
          mode: form.get("mode"),
          amount_total: Number(form.get("line_items[0][price_data][unit_amount]")),
          currency: form.get("line_items[0][price_data][currency]"),
          payment_status: "unpaid",
          status: "open",
          client_reference_id: form.get("client_reference_id"),
          metadata,
          url: `${base}/pay/${id}`,
        });
      }
      send(404, {
        error: {
          type: "invalid_request_error",
          message: `Unrecognized request URL (${req.method}: ${req.url})`,
        },
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return { url: base, sessions, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
