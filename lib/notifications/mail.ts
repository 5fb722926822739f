import "server-only";
import nodemailer, { type Transporter } from "nodemailer";

// The one SMTP transport of the platform's emails (SMTP_URL), built once per URL and reused by every sender.

let transport: { url: string; mailer: Transporter } | undefined;

/** The nodemailer transport for an SMTP URL (smtp:// or smtps://). */
export function mailer(url: string): Transporter {
  if (transport?.url !== url) transport = { url, mailer: nodemailer.createTransport(url) };
  return transport.mailer;
}
