import * as oidc from 'openid-client';
import type { SsoSettings } from './settings.js';

/** What the provider said about the person, after the ID token was validated. */
export interface SsoIdentity {
  subject: string;
  email: string | null;
  emailVerified: boolean;
  name: string | null;
  groups: string[];
  idToken: string;
}

/** The values an authorization request leaves behind, to check the answer against. */
export interface PendingSignIn {
  state: string;
  nonce: string;
  codeVerifier: string;
}

export class SsoError extends Error {
  constructor(readonly reason: string, options?: ErrorOptions) {
    super(reason, options);
    this.name = 'SsoError';
  }
}

const DISCOVERY_TTL_MS = 3600_000;

/**
 * The OpenID Connect relying party, on openid-client: discovery (cached for an
 * hour), authorization code flow with PKCE (S256), state and nonce, ID token
 * validation (signature, issuer, audience, expiry, nonce) by the library.
 *
 * Key rotation: each callback validates with a Configuration of its own, so
 * the provider's signing keys (jwks_uri) are fetched afresh at every sign-in
 * and a key the provider rotated in is accepted at once.
 */
export class SsoClient {
  private discovered: { metadata: oidc.ServerMetadata; at: number } | undefined;

  constructor(readonly settings: SsoSettings) {}

  private async metadata(): Promise<oidc.ServerMetadata> {
    if (this.discovered && Date.now() - this.discovered.at < DISCOVERY_TTL_MS) return this.discovered.metadata;
    const config = await oidc.discovery(new URL(this.settings.issuer), this.settings.clientId, undefined, this.clientAuth(), this.discoveryOptions());
    this.discovered = { metadata: config.serverMetadata(), at: Date.now() };
    return this.discovered.metadata;
  }

  private clientAuth() {
    return this.settings.clientSecret ? oidc.ClientSecretBasic(this.settings.clientSecret) : oidc.None();
  }

  private discoveryOptions() {
    return this.settings.allowHttp ? { execute: [oidc.allowInsecureRequests] } : undefined;
  }

  /** A configuration with a fresh copy of the metadata: the library caches keys per metadata object. */
  private async configuration(): Promise<oidc.Configuration> {
    const config = new oidc.Configuration({ ...(await this.metadata()) }, this.settings.clientId, undefined, this.clientAuth());
    if (this.settings.allowHttp) oidc.allowInsecureRequests(config);
    return config;
  }

  /** Where to send the browser, and what to keep until it comes back. */
  async start(): Promise<{ url: string; pending: PendingSignIn }> {
    const config = await this.configuration();
    const pending = { state: oidc.randomState(), nonce: oidc.randomNonce(), codeVerifier: oidc.randomPKCECodeVerifier() };
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: this.settings.redirectUrl,
      scope: this.settings.scopes,
      response_type: 'code',
      code_challenge: await oidc.calculatePKCECodeChallenge(pending.codeVerifier),
      code_challenge_method: 'S256',
      state: pending.state,
      nonce: pending.nonce,
    });
    return { url: url.href, pending };
  }

  /** Redeems the code and validates the ID token; SsoError with a short reason when anything is off. */
  async finish(callbackUrl: URL, pending: PendingSignIn): Promise<SsoIdentity> {
    const config = await this.configuration();
    // The provider answers on the configured redirect URL; the service may see another host behind a proxy.
    const current = new URL(this.settings.redirectUrl);
    current.search = callbackUrl.search;
    let tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;
    try {
      tokens = await oidc.authorizationCodeGrant(config, current, {
        pkceCodeVerifier: pending.codeVerifier,
        expectedState: pending.state,
        expectedNonce: pending.nonce,
        idTokenExpected: true,
      });
    } catch (err) {
      throw new SsoError(describe(err), { cause: err });
    }
    const claims = tokens.claims();
    if (!claims || !tokens.id_token) throw new SsoError('no ID token');
    const rawGroups = claims[this.settings.groupsClaim];
    const groups = Array.isArray(rawGroups) ? rawGroups.filter((g): g is string => typeof g === 'string').slice(0, 500) : typeof rawGroups === 'string' ? [rawGroups] : [];
    return {
      subject: `${claims.iss}|${claims.sub}`,
      email: typeof claims.email === 'string' ? claims.email.toLowerCase() : null,
      emailVerified: claims.email_verified === true,
      name: typeof claims.name === 'string' ? claims.name : null,
      groups,
      idToken: tokens.id_token,
    };
  }

  /** The provider's sign-out URL, when it has one (RP-initiated logout). */
  async endSessionUrl(idToken: string, postLogoutRedirect: string): Promise<string | undefined> {
    const config = await this.configuration();
    if (!config.serverMetadata().end_session_endpoint) return undefined;
    return oidc.buildEndSessionUrl(config, { id_token_hint: idToken, post_logout_redirect_uri: postLogoutRedirect }).href;
  }
}

/** A reason fit for a page and a log line: the check that failed, never a token. */
function describe(err: unknown): string {
  if (err instanceof oidc.ResponseBodyError) return `provider refused: ${err.error}`;
  if (err instanceof oidc.AuthorizationResponseError) return `provider refused: ${err.error}`;
  if (err instanceof Error) {
    const code = (err as { code?: string }).code;
    // oauth4webapi names the failed claim in `cause`, jose on the error itself.
    const claim = (err as { claim?: unknown }).claim ?? (err.cause as { claim?: unknown } | undefined)?.claim;
    const message = err.message.replace(/\s+/g, ' ').slice(0, 200);
    return `${code ? `${code}: ` : ''}${message}${typeof claim === 'string' ? ` (claim ${claim})` : ''}`;
  }
  return 'unexpected error';
}
