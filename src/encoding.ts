/**
 * Small encodings shared across features, on Web Crypto and btoa/atob so
 * they run unchanged on Node and Workers.
 */

/** base64url without padding. */
export const base64Url = (bytes: Uint8Array) =>
  btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');

export const randomBytes = (n: number) => crypto.getRandomValues(new Uint8Array(n));

/** SHA-256 of a text, as lower-case hex. */
export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** A Standard Webhooks secret: `whsec_` and the base64 of 32 random bytes (the spec allows 24–64). */
export const newWebhookSecret = () => `whsec_${btoa(String.fromCharCode(...randomBytes(32)))}`;
