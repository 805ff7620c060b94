// The link a user follows to redeem an invitation in the portal. The token is a path segment
// (not a query parameter), the portal sends `Referrer-Policy: no-referrer` and loads nothing
// from elsewhere, and request paths are never logged: the token leaves no trace but the audit
// record of its use (docs/portal.md).
import type { Config } from '../config/schema.ts';

export function portalBase(config: Config): string {
  if (config.portal.publicUrl) return config.portal.publicUrl.replace(/\/+$/, '');
  const host = config.portal.address === '0.0.0.0' || config.portal.address === '::' ? 'localhost' : config.portal.address.includes(':') ? `[${config.portal.address}]` : config.portal.address;
  return `${config.portal.tls ? 'https' : 'http'}://${host}:${config.portal.port}`;
}

export function portalLink(config: Config, token: string): string {
  return `${portalBase(config)}/enrol/${token}`;
}
