import ipaddr from 'ipaddr.js';

/**
 * Where outgoing webhooks may go. A subscription URL is chosen by whoever
 * holds an `admin` key; without these checks it could make the service
 * POST to its own network (127.0.0.1, 10.0.0.0/8, the cloud metadata address
 * 169.254.169.254…). Set WEBHOOK_ALLOW_PRIVATE_URLS=true for receivers on a
 * private network. Worker-safe: no Node-only imports here.
 */

/** Whether an IP address is on the public internet: not loopback, private, link-local, shared, multicast, reserved… */
export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  // IPv4-mapped IPv6 (::ffff:10.0.0.1) is judged as the IPv4 address it carries.
  const parsed = ipaddr.process(address);
  // IPv4-compatible IPv6 (::127.0.0.1, deprecated by RFC 4291): some stacks reach the IPv4 address it carries, so never public.
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).parts.slice(0, 6).every((p) => p === 0)) return false;
  return parsed.range() === 'unicast';
}

const bareHost = (url: URL) => url.hostname.replace(/^\[|\]$/g, '').replace(/\.$/, '').toLowerCase();

/** Why a URL's host, as written, may not receive webhooks: a local name or a non-public IP address. */
export function privateHostProblem(url: URL): string | undefined {
  const host = bareHost(url);
  if (host === 'localhost' || host.endsWith('.localhost')) return 'must not point to this machine (localhost)';
  if (ipaddr.isValid(host) && !isPublicAddress(host)) return `must not point to a private, local or reserved address (${host})`;
  return undefined;
}

/** Checks a delivery's destination just before the request; returns why it is refused. */
export type DestinationCheck = (url: string) => Promise<string | undefined>;

/**
 * A DestinationCheck over the addresses a host name resolves to, given a
 * resolver (node:dns on Node). A name that does not resolve passes: the
 * request then fails with the resolver's own error.
 */
export function resolvedAddressCheck(resolve: (host: string) => Promise<string[]>): DestinationCheck {
  return async (value) => {
    const url = new URL(value);
    const literal = privateHostProblem(url);
    if (literal) return `refused: the URL ${literal}`;
    const host = bareHost(url);
    if (ipaddr.isValid(host)) return undefined;
    let addresses: string[];
    try {
      addresses = await resolve(host);
    } catch {
      return undefined;
    }
    const blocked = addresses.find((a) => !isPublicAddress(a));
    return blocked ? `refused: ${host} resolves to ${blocked}, which is not a public address` : undefined;
  };
}
