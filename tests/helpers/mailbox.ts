// A real SMTP server (smtp-server) on 127.0.0.1 that keeps what it receives: the mail Tollgate sends through its
// SMTP_URL (low-balance notices, invitations) arrives here in tests.
import { SMTPServer } from "smtp-server";

export interface Mail {
  to: string;
  subject: string;
  /** The raw message with quoted-printable soft line breaks joined, so a long link reads as one line. */
  body: string;
}

export interface Mailbox {
  /** What arrived, in order. */
  received: Mail[];
  /** smtp://127.0.0.1:<port>, for SMTP_URL. */
  url: string;
  /** While on, every message is refused after its data (a server failing mid-send). */
  refuseAll(on: boolean): void;
  close(): Promise<void>;
}

/** Starts a mailbox; `refuse` names addresses that are refused at RCPT TO (a mailbox that never accepts mail). */
export async function startMailbox(
  options: { refuse?: (address: string) => boolean } = {},
): Promise<Mailbox> {
  const received: Mail[] = [];
  let refusing = false;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    onRcptTo(address, _session, callback) {
      if (options.refuse?.(address.address)) return callback(new Error("550 mailbox unavailable"));
      callback();
    },
    onData(stream, session, callback) {
      let body = "";
      stream.on("data", (c: Buffer) => {
        body += c.toString("utf8");
      });
      stream.on("end", () => {
        if (refusing) return callback(new Error("mailbox unavailable"));
        received.push({
          to: session.envelope.rcptTo.map((r) => r.address).join(","),
          subject: /^Subject: (.*)$/m.exec(body)?.[1] ?? "",
          body: body.replace(/=\r?\n/g, ""),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    received,
    url: `smtp://127.0.0.1:${(server.server.address() as { port: number }).port}`,
    refuseAll: (on) => {
      refusing = on;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
