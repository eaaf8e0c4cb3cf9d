import { lookup } from 'node:dns/promises';
import { resolvedAddressCheck } from './destinations.js';

/** Node: refuses deliveries whose host resolves to a non-public address (see destinations.ts). */
export const dnsDestinationCheck = resolvedAddressCheck(async (host) => (await lookup(host, { all: true, verbatim: true })).map((a) => a.address));
