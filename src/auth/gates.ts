/**
 * Config -> the authentication gates. Every configured check must pass (websockify allowed one plugin
 * at a time): --auth-plugin/--auth-source, --origin and --basic-auth compose in that order.
 * Origin checks guard WebSocket handshakes only: browsers send no Origin when they load a page, so
 * --web-auth applies the credential checks (Basic, client certificate) to static files.
 */

import type { Gate } from '../admission/pipeline.js';
import type { Config } from '../config/config.js';
import { ConfigError } from '../errors.js';
import type { Logger } from '../observe/log.js';
import { basicAuthCredentials, basicAuthGate, singleCredential } from './basic.js';
import { clientCertCnGate } from './client-cert.js';
import { expectOriginGate, originGate, parseOriginPattern } from './origin.js';
import { sameOriginGate } from './same-origin.js';

export interface AuthGates {
  /** Gates for WebSocket handshakes. */
  readonly handshake: readonly Gate[];
  /** Gates for plain HTTP requests when --web-auth is set (empty otherwise). */
  readonly http: readonly Gate[];
}

const AUTH_PLUGINS = ['BasicHTTPAuth', 'ExpectOrigin', 'ClientCertCNAuth'] as const;

/** Finds the plugin for `websockify.auth_plugins.BasicHTTPAuth` or just `BasicHTTPAuth`. */
function pluginName(plugin: string): (typeof AUTH_PLUGINS)[number] {
  const known = AUTH_PLUGINS.find((p) => p === plugin || plugin.endsWith(`.${p}`));
  if (!known)
    throw new ConfigError(`--auth-plugin: unknown plugin "${plugin}" (known: ${AUTH_PLUGINS.join(', ')})`);
  return known;
}

function pluginGate(
  config: Config,
  plugin: string,
  source: string | undefined,
): { gate: Gate; credential: boolean } {
  const name = pluginName(plugin);
  if (source === undefined || source.trim() === '')
    throw new ConfigError(`--auth-plugin ${name} needs --auth-source`);
  switch (name) {
    case 'BasicHTTPAuth':
      if (source.indexOf(':') <= 0)
        throw new ConfigError('--auth-source for BasicHTTPAuth must be user:password');
      return {
        gate: basicAuthGate(singleCredential(source), { realm: 'Websockify', malformedStatus: 403 }),
        credential: true,
      };
    case 'ExpectOrigin':
      return { gate: expectOriginGate(source), credential: false };
    case 'ClientCertCNAuth':
      if (!config.tls?.verifyClient)
        throw new ConfigError('--auth-plugin ClientCertCNAuth needs --verify-client and --cert');
      return { gate: clientCertCnGate(source), credential: true };
  }
}

/** Builds the authentication gates of a config; throws ConfigError for unusable settings. */
export function authGates(config: Config, log: Logger): AuthGates {
  const handshake: Gate[] = [];
  const credentials: Gate[] = [];
  const { auth } = config;
  if (auth.plugin) {
    const { gate, credential } = pluginGate(config, auth.plugin, auth.source);
    handshake.push(gate);
    if (credential) credentials.push(gate);
  }
  if (auth.origins.length > 0) handshake.push(originGate(auth.origins.map(parseOriginPattern)));
  if (config.sameOrigin) handshake.push(sameOriginGate());
  if (auth.basicAuth !== undefined) {
    const gate = basicAuthGate(basicAuthCredentials(auth.basicAuth, log), {
      realm: 'wstcp',
      malformedStatus: 401,
    });
    handshake.push(gate);
    credentials.push(gate);
  }
  if (credentials.length > 0 && !(config.tls?.sslOnly || config.tls?.verifyClient)) {
    log.warn('auth.without_tls', {
      hint: 'credentials can cross the network unencrypted; add --cert and --ssl-only, or a TLS front proxy',
    });
  }
  if (auth.webAuth && credentials.length === 0) {
    throw new ConfigError(
      '--web-auth needs a credential check: --basic-auth, BasicHTTPAuth or ClientCertCNAuth',
    );
  }
  return { handshake, http: auth.webAuth ? credentials : [] };
}
