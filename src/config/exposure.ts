/**
 * websockify's default is kept (no listen host: every address, plain ws://, no password), but a bridge
 * that anyone on the network can use to reach its target says so once at startup, with the way out.
 */
import type { Config } from './config.js';

/** The warning for a bridge open to every address without TLS or authentication, or undefined. */
export function exposureWarning(config: Pick<Config, 'listen' | 'tls' | 'auth'>): string | undefined {
  const { listen, tls, auth } = config;
  if (listen.kind !== 'tcp') return undefined;
  const everywhere = listen.host === undefined || listen.host === '0.0.0.0' || listen.host === '::';
  const authenticated =
    auth.basicAuth !== undefined || auth.plugin !== undefined || tls?.verifyClient === true;
  if (!everywhere || tls !== undefined || authenticated) return undefined;
  return (
    `listening on every address with neither TLS nor authentication: anyone who can reach port ${listen.port} ` +
    `reaches the target; give a listen host (127.0.0.1:${listen.port}), or add --cert/--key and --basic-auth`
  );
}
