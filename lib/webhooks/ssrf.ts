import "server-only";
import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import { isIP } from "node:net";
import ipaddr from "ipaddr.js";
import { Agent } from "undici";
import { config } from "@/lib/config";
import { AppError } from "@/lib/http/errors";

// Where customer webhooks may go (issue 28). In production only HTTPS to public unicast addresses: every address a
// host resolves to must be one, checked when the endpoint is registered and again at each connection (the agent
// connects to the address it checked, so a DNS answer that changes in between, rebinding, cannot reach inside).
// Redirects are never followed (a 3xx is a failed attempt). Outside production (or with WEBHOOK_ALLOW_PRIVATE_TARGETS,
// for local stacks that run `next start`), http://localhost and 127.0.0.1 are allowed too, for local receivers.

export interface NetPolicy {
  /** Production rules (public HTTPS only); default: NODE_ENV is production. */
  production: boolean;
}

/** Production rules under NODE_ENV production, unless a local stack or test allows private targets. */
export const defaultNetPolicy = (): NetPolicy => {
  const cfg = config();
  return { production: cfg.NODE_ENV === "production" && !cfg.WEBHOOK_ALLOW_PRIVATE_TARGETS };
};

const LOCAL_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);

/** ::/96, the deprecated IPv4-compatible IPv6 addresses (::127.0.0.1): ipaddr.js calls them unicast. */
const IPV4_COMPATIBLE = ipaddr.parseCIDR("::/96");

/**
 * Whether an address is public unicast (ipaddr.js's range "unicast"; IPv4-mapped IPv6 read as IPv4), and not an
 * IPv4-compatible IPv6 address (some stacks route ::a.b.c.d to a.b.c.d).
 */
export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  const parsed = ipaddr.process(address);
  if (parsed.kind() === "ipv6" && (parsed as ipaddr.IPv6).match(IPV4_COMPATIBLE)) return false;
  return parsed.range() === "unicast";
}

const refused = (message: string) =>
  new AppError("validation_failed", message, { issues: [{ path: "url", message }] });

/** The URL if its form is allowed (scheme, no credentials); throws a 422 naming why not. */
export function parseEndpointUrl(text: string, policy: NetPolicy): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw refused("The URL is not a valid absolute URL.");
  }
  if (url.username || url.password) throw refused("The URL may not carry a user name or password.");
  if (url.protocol === "https:") return url;
  if (url.protocol === "http:" && !policy.production && LOCAL_HOSTS.has(url.hostname)) return url;
  throw refused(
    policy.production
      ? "The URL must use https."
      : "The URL must use https (http only for localhost and 127.0.0.1 outside production).",
  );
}

function bareHost(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, "");
}

/**
 * The one refusal for a host: whether it resolves, and to what, is not told (an answer naming internal DNS results
 * would map the platform's network for whoever registers names).
 */
const notPublic = (host: string) =>
  refused(`The host ${host} must resolve to public addresses only: refused.`);

/** Resolves every address of a host; throws when any is not public (production only). */
export async function assertPublicTarget(url: URL, policy: NetPolicy): Promise<void> {
  if (!policy.production) return;
  const host = bareHost(url);
  const addresses = isIP(host)
    ? [host]
    : await new Promise<string[]>((resolve, reject) =>
        dnsLookup(host, { all: true, verbatim: true }, (err, list) =>
          err ? reject(notPublic(host)) : resolve(list.map((a) => a.address)),
        ),
      );
  if (!addresses.length || addresses.some((a) => !isPublicAddress(a))) throw notPublic(host);
}

/** Checks a URL for registration: its form, then where it resolves. Returns the normalized text. */
export async function checkEndpointUrl(text: string, policy: NetPolicy): Promise<string> {
  const url = parseEndpointUrl(text, policy);
  await assertPublicTarget(url, policy);
  return url.toString();
}

type LookupCallback = (
  err: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/** A dns.lookup that fails unless every address is public: the connection then goes to one of those addresses. */
function guardedLookup(
  hostname: string,
  options: { all?: boolean; family?: number },
  callback: LookupCallback,
) {
  dnsLookup(hostname, { ...options, all: true, verbatim: true }, (err, list) => {
    if (err) return callback(err, []);
    if (!list.length || list.some((a) => !isPublicAddress(a.address))) {
      // The delivery log names the host, never what it resolved to.
      const error = new Error(
        `refused: ${hostname} does not resolve to public addresses only`,
      ) as NodeJS.ErrnoException;
      error.code = "ETOLLGATE_SSRF";
      return callback(error, []);
    }
    if (options.all) return callback(null, list);
    callback(null, list[0]!.address, list[0]!.family);
  });
}

let guarded: Agent | undefined;
let plain: Agent | undefined;

/** The undici agent deliveries use: in production it connects only to addresses guardedLookup checked. */
export function deliveryAgent(policy: NetPolicy): Agent {
  if (policy.production) {
    guarded ??= new Agent({ connect: { lookup: guardedLookup as never }, keepAliveTimeout: 10_000 });
    return guarded;
  }
  plain ??= new Agent({ keepAliveTimeout: 10_000 });
  return plain;
}

/** At delivery: a literal address in the URL is checked here (no lookup happens for it); a name by the agent. */
export function assertDeliverable(url: URL, policy: NetPolicy): void {
  parseEndpointUrl(url.toString(), policy);
  if (!policy.production) return;
  const host = bareHost(url);
  if (isIP(host) && !isPublicAddress(host))
    throw refused(`The address ${host} is private or reserved: refused.`);
}
