/**
 * TLS termination for wss:// on the bridge's port. The server hands over each accepted socket whose first
 * byte is a TLS ClientHello; `wrap` starts the TLS handshake with the SecureContext current at that moment.
 * `reload()` (SIGHUP) and changes to the certificate, key or CA files build a new context and swap it in:
 * live sessions keep the context they started with, so nothing is dropped, and a file that does not load
 * leaves the old context in place.
 */

import type { Socket } from 'node:net';
import { hostname } from 'node:os';
import { type SecureContext, TLSSocket } from 'node:tls';
import type { TlsTerminator } from '../admission/pipeline.js';
import type { TlsConfig } from '../config/config.js';
import { ConfigError, describeError } from '../errors.js';
import type { Logger } from '../observe/log.js';
import {
  readCaBundle,
  readTlsMaterial,
  secureContextFor,
  summarize,
  type TlsMaterial,
} from './credentials.js';
import { checkNames, createSelfSigned } from './self-signed.js';
import { type FileWatch, watchFiles } from './watch.js';

export interface TerminatorOptions {
  /** Quiet time after a file change before reloading (several files usually change together). */
  readonly watchDebounceMs?: number;
}

/** Host names a throwaway `--cert auto` certificate covers. */
function autoNames(): string[] {
  const names = ['localhost', '127.0.0.1', '::1'];
  const own = hostname();
  try {
    checkNames([own]);
    if (!names.includes(own)) names.splice(1, 0, own);
  } catch {
    // A host name that is not a valid DNS name cannot appear in a certificate; the others still work.
  }
  return names;
}

function autoMaterial(config: TlsConfig): TlsMaterial {
  if (config.key) throw new ConfigError('--key cannot be combined with --cert auto (the key is generated)');
  if (config.keyPassword !== undefined)
    throw new ConfigError('--key-password cannot be combined with --cert auto');
  const { cert, key } = createSelfSigned({ names: autoNames(), days: 30 });
  const clientCa = config.cafile ? readCaBundle('--cafile', config.cafile) : undefined;
  return { certChain: cert, key, passphrase: undefined, clientCa, certSource: 'auto' };
}

class Terminator implements TlsTerminator {
  readonly sslOnly: boolean;
  /** When the certificate now served expires (ms since the epoch). */
  expiresAt: number | undefined;
  private context: SecureContext;
  private readonly watch: FileWatch | undefined;

  constructor(
    private readonly config: TlsConfig,
    private readonly log: Logger,
    options: TerminatorOptions,
  ) {
    // A client certificate proves nothing if the same port also takes plain ws://, so --verify-client
    // implies --ssl-only (websockify let plain connections through).
    this.sslOnly = config.sslOnly || config.verifyClient;
    this.context = this.load();
    if (config.cert !== 'auto') {
      const files = [config.cert, config.key, config.cafile].filter((f): f is string => f !== undefined);
      this.watch = watchFiles(
        files,
        options.watchDebounceMs ?? 500,
        () => this.reload(),
        (dir, err) => log.warn('tls.watch_failed', { dir, error: describeError(err) }),
      );
    }
  }

  wrap(socket: Socket): TLSSocket {
    const verify = this.config.verifyClient;
    const tlsSocket = new TLSSocket(socket, {
      isServer: true,
      secureContext: this.context,
      requestCert: verify,
      rejectUnauthorized: verify,
    });
    // Same form as the server's log lines: an IPv4 client on a dual-stack socket without `::ffff:`.
    const client = socket.remoteAddress?.replace(/^::ffff:(?=\d+\.)/, '');
    const onHandshakeError = (err: Error) => {
      this.log.info('tls.refused', { client, code: (err as { code?: string }).code ?? 'TLS_ERROR' });
    };
    tlsSocket.once('error', onHandshakeError);
    tlsSocket.once('secure', () => {
      tlsSocket.off('error', onHandshakeError);
      releaseErrors(tlsSocket);
      if (verify) this.enforceClientCertificate(tlsSocket, client);
    });
    return tlsSocket;
  }

  /**
   * A TLSSocket built outside a tls.Server lets any client certificate through: Node checks the
   * verification result in tls.Server's own 'secure' listener. This is that check, failing closed. It runs
   * synchronously on 'secure', before any application data (the HTTP request) is read.
   */
  private enforceClientCertificate(tlsSocket: TLSSocket, client: string | undefined): void {
    const handle = (tlsSocket as unknown as { _handle?: { verifyError?: () => unknown } })._handle;
    const result =
      typeof handle?.verifyError === 'function' ? handle.verifyError() : 'VERIFY_RESULT_UNAVAILABLE';
    if (!result) {
      tlsSocket.authorized = true;
      return;
    }
    const code =
      typeof result === 'string' ? result : ((result as { code?: string }).code ?? 'CERT_REJECTED');
    tlsSocket.authorizationError = new Error(code);
    this.log.info('tls.refused', { client, code });
    tlsSocket.destroy();
  }

  /** Re-reads the certificate, key and CA files; on any failure the current context stays in use. */
  reload(): void {
    if (this.config.cert === 'auto') {
      this.log.info('tls.reload_skipped', { reason: 'the certificate is generated (--cert auto)' });
      return;
    }
    try {
      this.context = this.load();
    } catch (err) {
      this.log.error('tls.reload_failed', { error: describeError(err), kept: 'previous certificate' });
    }
  }

  async close(): Promise<void> {
    this.watch?.close();
  }

  private load(): SecureContext {
    const material = this.config.cert === 'auto' ? autoMaterial(this.config) : readTlsMaterial(this.config);
    const context = secureContextFor(material, this.config);
    const summary = summarize(material);
    this.expiresAt = Date.parse(summary.validTo);
    this.log.info('tls.certificate_loaded', {
      source: material.certSource,
      subject: summary.subject,
      names: summary.altNames,
      expires: summary.validTo,
      sha256: summary.fingerprint256,
    });
    if (summary.expired)
      this.log.warn('tls.certificate_expired', { source: material.certSource, expired: summary.validTo });
    return context;
  }
}

/** The terminator for --cert/--key/...; throws a ConfigError when the files do not load at startup. */
export function createTlsTerminator(
  config: TlsConfig,
  log: Logger,
  options: TerminatorOptions = {},
): TlsTerminator & { reload(): void } {
  return new Terminator(config, log, options);
}

/**
 * A TLSSocket keeps the errors of an established connection (a corrupt record, a bad alert) to itself
 * until its owner takes control of them, which tls.Server does on 'secure': without this, such an error is
 * never emitted and the connection is neither closed nor logged.
 */
function releaseErrors(tlsSocket: TLSSocket): void {
  (tlsSocket as unknown as { _releaseControl?: () => void })._releaseControl?.();
}
