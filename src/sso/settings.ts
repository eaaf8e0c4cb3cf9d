import type { Config } from '../config.js';

/** Single sign-on settings, from the parsed configuration (OIDC_* in src/config.ts). */
export interface SsoSettings {
  issuer: string;
  clientId: string;
  clientSecret?: string;
  redirectUrl: string;
  scopes: string;
  groupsClaim: string;
  allowHttp: boolean;
}

export function ssoSettingsFromConfig(config: Config): SsoSettings | undefined {
  if (!config.OIDC_ISSUER || !config.OIDC_CLIENT_ID) return undefined;
  return {
    issuer: config.OIDC_ISSUER,
    clientId: config.OIDC_CLIENT_ID,
    clientSecret: config.OIDC_CLIENT_SECRET,
    redirectUrl: config.OIDC_REDIRECT_URL ?? `${config.WEB_APP_URL!.replace(/\/$/, '')}/sso/callback`,
    scopes: config.OIDC_SCOPES,
    groupsClaim: config.OIDC_GROUPS_CLAIM,
    allowHttp: config.OIDC_ALLOW_HTTP,
  };
}
