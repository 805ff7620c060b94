// The link a user follows to redeem an invitation in the portal. The token is a path segment
// (not a query parameter), the portal sends `Referrer-Policy: same-origin` (no Referer to any other site) and loads nothing
// from elsewhere, and request paths are never logged: the token leaves no trace but the audit
// record of its use (docs/portal.md).
import type { Config } from '../config/schema.ts';

/** Without portal.publicUrl: the portal's own address and port (`port`: the one it is bound to). */
export function portalBase(config: Config, port: number = config.portal.port): string {
  if (config.portal.publicUrl) return config.portal.publicUrl.replace(/\/+$/, '');
  const host = config.portal.address === '0.0.0.0' || config.portal.address === '::' ? 'localhost' : config.portal.address.includes(':') ? `[${config.portal.address}]` : config.portal.address;
  return `${config.portal.tls ? 'https' : 'http'}://${host}:${port}`;
}

export function portalLink(config: Config, token: string, port?: number): string {
  return `${portalBase(config, port)}/enrol/${token}`;
}
