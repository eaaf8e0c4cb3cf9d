import { lookup } from 'node:dns/promises';
import type { Config } from '../../config.js';
import { type DestinationCheck, resolvedAddressCheck } from './destinations.js';

/** Node: refuses deliveries whose host resolves to a non-public address (see destinations.ts). */
export const dnsDestinationCheck = resolvedAddressCheck(async (host) => (await lookup(host, { all: true, verbatim: true })).map((a) => a.address));

/** The check a Node process's deliveries get: none when WEBHOOK_ALLOW_PRIVATE_URLS is set. */
export const destinationCheckFor = (config: Pick<Config, 'WEBHOOK_ALLOW_PRIVATE_URLS'>): DestinationCheck | undefined =>
  config.WEBHOOK_ALLOW_PRIVATE_URLS ? undefined : dnsDestinationCheck;
