/**
 * The log lines of handshakes: refused (warn, with status and code), failed on a bug (error), abandoned
 * by a client that left. Request paths are logged without their query, and without any token when tokens
 * route sessions: tokens never reach the log.
 */
import type { IncomingMessage } from 'node:http';
import { formatHostPort } from '../address.js';
import { describeError } from '../errors.js';
import type { Logger } from '../observe/log.js';
import { formatTarget } from '../targets/registry.js';
import type { Target } from '../targets/target.js';
import { tokenFromRequest } from '../tokens/token-from-request.js';
import { tokenTag } from '../tokens/token-tag.js';
import type { Refused } from './admit.js';
import { type ClientAddressPolicy, socketPeerPolicy } from './client-address.js';
import { loggedPath, parseRequestUrl } from './request-url.js';

export class HandshakeLog {
  constructor(
    private readonly log: Logger,
    /** Tokens route sessions: paths may carry one. */
    private readonly tokens: boolean,
    /** Who the client is (behind --trusted-proxy proxies: the real client). */
    private readonly clientOf: ClientAddressPolicy = socketPeerPolicy,
    /** --host-token: the token is the Host header. */
    private readonly hostToken = false,
  ) {}

  private client(req: IncomingMessage): string {
    const client = this.clientOf(req);
    return formatHostPort(client.address, client.port);
  }

  /** The request path for log lines (request-url.ts). */
  path(req: IncomingMessage): string {
    return loggedPath(req.url, this.tokens);
  }

  /**
   * The tag of the request's token (`t:1a2b3c4d`), so that an operator can tell which token a refusal or a
   * session was about without the token itself reaching the log; undefined without tokens or a token.
   */
  token(req: IncomingMessage): string | undefined {
    if (!this.tokens) return undefined;
    const url = parseRequestUrl(req.url);
    const token = url && tokenFromRequest(url, req.headers, this.hostToken);
    return token === undefined ? undefined : tokenTag(token);
  }

  /** `probe`: the viewer asking why its handshake failed (probe.ts), logged like the handshake itself. */
  refused(req: IncomingMessage, refused: Refused, probe = false): void {
    const { error, unexpected, target } = refused;
    const fields = {
      client: this.client(req),
      probe: probe || undefined,
      path: this.path(req),
      token: this.token(req),
      target: target ? formatTarget(target) : undefined,
      status: error.status,
      code: error.code,
      reason: error.message,
    };
    if (unexpected !== undefined)
      this.log.error('handshake.failed', { ...fields, error: describeError(unexpected) });
    else this.log.warn('handshake.refused', fields);
  }

  /** The client left (or the bridge began closing) while its target was being opened. */
  abandoned(req: IncomingMessage, target: Target): void {
    this.log.info('handshake.abandoned', { client: this.client(req), target: formatTarget(target) });
  }
}
