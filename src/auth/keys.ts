import { base64Url, randomBytes, sha256Hex } from '../encoding.js';

export const SCOPES = ['read', 'write', 'ingest', 'admin', 'scim'] as const;
export type Scope = (typeof SCOPES)[number];

export interface Principal {
  keyId: number;
  name: string;
  scopes: Scope[];
}

const KEY_PREFIX = 'hs_';

/** A new secret key: `hs_` and 32 random bytes, base64url. */
export function generateApiKey(): string {
  return KEY_PREFIX + base64Url(randomBytes(32));
}

export const looksLikeApiKey = (value: string) => /^hs_[A-Za-z0-9_-]{20,100}$/.test(value);

/**
 * Keys are 256-bit random, so one fast SHA-256 is enough: there is nothing to
 * brute-force that a slow hash would protect.
 */
export const hashApiKey = (key: string): Promise<string> => sha256Hex(key);

/** What listings show of a key: enough to recognise it, too little to use it. */
export const displayPrefix = (key: string) => key.slice(0, KEY_PREFIX.length + 6);

/** `admin` carries every other scope. */
export const grants = (scopes: readonly Scope[], needed: Scope) => scopes.includes(needed) || scopes.includes('admin');

export function parseScopes(text: string): Scope[] {
  const scopes = [...new Set(text.split(',').map((s) => s.trim()).filter(Boolean))];
  const unknown = scopes.filter((s) => !(SCOPES as readonly string[]).includes(s));
  if (unknown.length || scopes.length === 0) {
    throw new Error(`scopes must be a comma-separated list of ${SCOPES.join(', ')}${unknown.length ? ` (unknown: ${unknown.join(', ')})` : ''}`);
  }
  return scopes as Scope[];
}
