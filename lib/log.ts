import "server-only";
import pino from "pino";
import { config } from "@/lib/config";

const globalForLog = globalThis as unknown as { tollgateLog?: pino.Logger };

/** Structured logs. Secrets are redacted by path so that a stray field never reaches the log sink. */
export function log(): pino.Logger {
  globalForLog.tollgateLog ??= pino({
    level: config().LOG_LEVEL,
    base: { service: "tollgate" },
    redact: {
      paths: [
        "password",
        "*.password",
        "secret",
        "*.secret",
        "token",
        "*.token",
        "authorization",
        "*.authorization",
        "headers.cookie",
        "*.headers.cookie",
      ],
      censor: "[redacted]",
    },
  });
  return globalForLog.tollgateLog;
}
