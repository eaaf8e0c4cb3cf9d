import type { LookupAddress } from 'node:dns';
import { lookup } from 'node:dns/promises';
import type { LookupFunction } from 'node:net';
import { Agent, fetch as undiciFetch } from 'undici';
import type { Config } from '../config.js';
import { type DestinationCheck, isPublicAddress, resolvedAddressCheck } from './destinations.js';

/** Resolves a host name to its addresses (node:dns by default; tests pass their own). */
export type Resolver = (host: string) => Promise<string[]>;

const systemResolver: Resolver = async (host) => (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);

/** Node: refuses deliveries whose host resolves to a non-public address (see destinations.ts). */
export const dnsDestinationCheck = resolvedAddressCheck(systemResolver);

/** The check a Node process's deliveries get: none when WEBHOOK_ALLOW_PRIVATE_URLS is set. */
export const destinationCheckFor = (config: Pick<Config, 'WEBHOOK_ALLOW_PRIVATE_URLS'>): DestinationCheck | undefined =>
  config.WEBHOOK_ALLOW_PRIVATE_URLS ? undefined : dnsDestinationCheck;

const familyOf = (address: string) => (address.includes(':') ? 6 : 4);

/**
 * A lookup for sockets that resolves once and connects to exactly the
 * addresses it checked. Checking a name and then letting the HTTP client
 * resolve it again is beaten by DNS rebinding (public on the first answer,
 * 127.0.0.1 on the second); here there is no second answer.
 */
export function pinnedLookup(resolve: Resolver, allowPrivate: boolean): LookupFunction {
  return ((hostname: string, options: { all?: boolean }, callback: (err: Error | null, address: string | LookupAddress[], family?: number) => void) => {
    const answer = async () => {
      const addresses = await resolve(hostname);
      if (addresses.length === 0) throw Object.assign(new Error(`${hostname} does not resolve`), { code: 'ENOTFOUND' });
      const blocked = allowPrivate ? undefined : addresses.find((a) => !isPublicAddress(a));
      if (blocked) {
        throw Object.assign(new Error(`refused: ${hostname} resolves to ${blocked}, which is not a public address`), { code: 'EPRIVATEADDRESS' });
      }
      return addresses;
    };
    answer().then(
      (addresses) => {
        if (options.all) callback(null, addresses.map((address) => ({ address, family: familyOf(address) })));
        else callback(null, addresses[0]!, familyOf(addresses[0]!));
      },
      (err: Error) => callback(err, ''),
    );
  }) as LookupFunction;
}

/**
 * fetch for outgoing webhooks on Node: every connection goes to an address the
 * pinned lookup checked (IP literals in URLs are checked before the request,
 * by the DestinationCheck). Redirects are not followed by deliveries anyway.
 */
export function pinnedFetch(options: { resolve?: Resolver; allowPrivate?: boolean; connectTimeoutMs?: number } = {}): typeof fetch {
  const dispatcher = new Agent({
    connect: { lookup: pinnedLookup(options.resolve ?? systemResolver, options.allowPrivate ?? false), timeout: options.connectTimeoutMs ?? 10_000 },
  });
  return ((input: string | URL | Request, init?: RequestInit) =>
    undiciFetch(input as never, { ...(init as object), dispatcher } as never)) as unknown as typeof fetch;
}

let sharedPinnedFetch: typeof fetch | undefined;

/** The fetch a Node process's deliveries use: pinned to checked addresses unless WEBHOOK_ALLOW_PRIVATE_URLS is set. */
export const deliveryFetchFor = (config: Pick<Config, 'WEBHOOK_ALLOW_PRIVATE_URLS'>): typeof fetch | undefined =>
  config.WEBHOOK_ALLOW_PRIVATE_URLS ? undefined : (sharedPinnedFetch ??= pinnedFetch());

/**
 * Everything a Node delivery needs from the configuration, for the worker
 * (src/node.ts) and the deliver-webhooks job alike.
 */
export const deliveryOptionsFromConfig = (
  config: Pick<Config, 'WEBHOOK_ALLOW_PRIVATE_URLS' | 'WEBHOOK_REQUEST_TIMEOUT_MS' | 'WEBHOOK_RETRY_SCHEDULE_MS'>,
) => ({
  requestTimeoutMs: config.WEBHOOK_REQUEST_TIMEOUT_MS,
  ...(config.WEBHOOK_RETRY_SCHEDULE_MS ? { retryScheduleMs: config.WEBHOOK_RETRY_SCHEDULE_MS } : {}),
  checkDestination: destinationCheckFor(config),
  fetch: deliveryFetchFor(config),
});
