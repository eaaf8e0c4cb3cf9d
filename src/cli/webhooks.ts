import { parseArgs } from 'node:util';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import {
  DEFAULT_ROTATION_OVERLAP_HOURS,
  ensureWebhookSource,
  listWebhookSources,
  MAX_ROTATION_OVERLAP_HOURS,
  rotateWebhookSecret,
  SOURCE_NAME_PATTERN,
} from '../webhooks/inbound/repository.js';

/** main.ts's helpers, passed in so this file needs nothing else from it. */
export type WithDatabase = <T>(fn: (db: Kysely<Database>) => Promise<T>) => Promise<T>;
export type UsageErrorFactory = (message: string) => Error;

const sourceName = (value: string | undefined, action: string, usage: UsageErrorFactory) => {
  if (!value) throw usage(`webhooks ${action} needs a source name`);
  if (!SOURCE_NAME_PATTERN.test(value)) {
    throw usage(`source names are 1 to 63 lower-case letters, digits, _ or -, starting with a letter or digit: ${value}`);
  }
  return value;
};

/**
 *   webhooks add-source NAME                       create a source and print its secret once
 *   webhooks rotate NAME [--expire-old-hours H]    add a new secret; older ones verify for H more hours
 *   webhooks list                                  sources with their live secret count, never secrets
 */
export async function webhooksCommand(args: string[], withDatabase: WithDatabase, usage: UsageErrorFactory): Promise<void> {
  const [action, ...rest] = args;
  if (action === 'add-source') {
    const { positionals } = parseArgs({ args: rest, allowPositionals: true, options: {} });
    const name = sourceName(positionals[0], action, usage);
    const { created, source, secret } = await withDatabase((db) => ensureWebhookSource(db, name));
    if (!created || !secret) {
      console.log(`webhook source "${name}" already exists with ${source.secrets.length} live secret(s); use \`webhooks rotate ${name}\` for a new secret`);
      return;
    }
    console.log(`created webhook source "${name}"; senders post to /v1/webhooks/inbound/${name}`);
    console.log(`secret (shown once): ${secret.value}`);
    return;
  }
  if (action === 'rotate') {
    const { values, positionals } = parseArgs({
      args: rest,
      allowPositionals: true,
      options: { 'expire-old-hours': { type: 'string' } },
    });
    const name = sourceName(positionals[0], action, usage);
    const raw = values['expire-old-hours'];
    const hours = raw === undefined ? DEFAULT_ROTATION_OVERLAP_HOURS : Number(raw);
    if (raw !== undefined && (raw.trim() === '' || !Number.isFinite(hours) || hours < 0 || hours > MAX_ROTATION_OVERLAP_HOURS)) {
      throw usage(`--expire-old-hours must be a number from 0 to ${MAX_ROTATION_OVERLAP_HOURS}`);
    }
    const rotated = await withDatabase((db) => rotateWebhookSecret(db, name, hours));
    if (!rotated) throw new Error(`no webhook source named ${name}`);
    console.log(`added secret ${rotated.secret.id} to webhook source "${name}"; older secrets stop verifying at ${rotated.oldSecretsExpireAt.toISOString()}`);
    console.log(`secret (shown once): ${rotated.secret.value}`);
    return;
  }
  if (action === 'list') {
    const sources = await withDatabase((db) => listWebhookSources(db));
    console.log(['name', 'live secrets', 'created', 'next expiry'].join('\t'));
    for (const s of sources) {
      const expiries = s.secrets.flatMap((x) => (x.expiresAt ? [x.expiresAt.getTime()] : []));
      const next = expiries.length ? new Date(Math.min(...expiries)).toISOString() : '-';
      console.log([s.name, s.secrets.length, s.createdAt.toISOString(), next].join('\t'));
    }
    return;
  }
  throw usage(`unknown webhooks action: ${action ?? '(none)'}`);
}
