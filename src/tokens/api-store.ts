/**
 * BaseTokenAPI / JSONTokenApi: an HTTP GET per lookup to a URL with the token substituted in.
 * 2xx -> the body is the target; 404 and other 4xx -> unknown token; 5xx, no answer or a garbled
 * body -> the store is unavailable (503), so an API outage never reads as "unknown token".
 */
import { AddressError } from '../address.js';
import { ConfigError } from '../errors.js';
import type { SocketTarget } from '../targets/registry.js';
import { targetFromJson } from './host-port.js';
import { parseStoredTarget } from './route-options.js';
import { StoreUnavailableError, type TokenStore } from './store.js';

/** `text`: body `host:port` (BaseTokenAPI); `json`: `{"host": ..., "port": ...}` (JSONTokenApi); `auto`: either. */
export type ApiBodyFormat = 'text' | 'json' | 'auto';

export interface TokenApiOptions {
  /** URL with `%s` (websockify) or `{token}` where the URL-encoded token goes. */
  readonly url: string;
  readonly format: ApiBodyFormat;
  readonly timeoutMs: number;
}

const PLACEHOLDER = /%s|\{token\}/g;
const HAS_PLACEHOLDER = /%s|\{token\}/;
/** A target fits in far less; a longer answer is not one, and is not read to its end. */
const MAX_BODY_BYTES = 4096;
/** A readiness probe waits this long at most, and its answer stands this long (load balancers probe often). */
const PROBE_TIMEOUT_MS = 1000;
const PROBE_CACHE_MS = 1500;

/** Reads at most `limit` bytes of the body as UTF-8, then cancels the rest. */
async function readBounded(response: Response, limit: number): Promise<string> {
  if (!response.body) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = response.body.getReader();
  while (size < limit) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.byteLength;
  }
  if (size >= limit) await reader.cancel();
  return Buffer.concat(chunks).subarray(0, limit).toString('utf8');
}

/**
 * @example
 * const store = new TokenApiStore({ url: 'https://api.example/t?id={token}', format: 'auto', timeoutMs: 5000 });
 */
export class TokenApiStore implements TokenStore {
  readonly description: string;
  private readonly options: TokenApiOptions;
  private readonly origin: string;
  private probed: { at: number; answer: Promise<boolean> } | undefined;

  constructor(options: TokenApiOptions) {
    let parsed: URL;
    try {
      parsed = new URL(options.url.replace(PLACEHOLDER, 'TOKEN'));
    } catch {
      throw new ConfigError(`token API URL "${options.url}" is not a URL`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new ConfigError(`token API URL "${options.url}" must be http:// or https://`);
    }
    if (!HAS_PLACEHOLDER.test(options.url)) {
      throw new ConfigError(`token API URL "${options.url}" has no %s or {token} where the token goes`);
    }
    this.options = options;
    this.origin = parsed.origin;
    // The template, never a filled-in URL: that would put the token in log lines.
    this.description = `token API ${parsed.origin}${parsed.pathname.replace('TOKEN', '{token}')}`;
  }

  async lookup(token: string): Promise<SocketTarget | undefined> {
    const { url, format, timeoutMs } = this.options;
    const encoded = encodeURIComponent(token);
    let response: Response;
    try {
      response = await fetch(
        url.replace(PLACEHOLDER, () => encoded),
        {
          signal: AbortSignal.timeout(timeoutMs),
          redirect: 'follow',
          headers: { accept: 'application/json, text/plain' },
        },
      );
    } catch (err) {
      const why = (err as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : 'unreachable';
      throw new StoreUnavailableError(`${this.description}: ${why}`, { cause: err });
    }
    if (response.status >= 500) {
      await response.body?.cancel();
      throw new StoreUnavailableError(`${this.description} answered ${response.status}`);
    }
    if (response.status < 200 || response.status >= 300) {
      await response.body?.cancel();
      return undefined;
    }
    let body: string;
    try {
      body = (await readBounded(response, MAX_BODY_BYTES)).trim();
    } catch (err) {
      throw new StoreUnavailableError(`${this.description}: the answer broke off`, { cause: err });
    }
    try {
      const json = format === 'json' || (format === 'auto' && body.startsWith('{'));
      return json ? targetFromJson(body, 'the answer is not JSON') : parseStoredTarget(body);
    } catch (err) {
      if (!(err instanceof AddressError)) throw err;
      throw new StoreUnavailableError(
        `${this.description} answered something that is not a target: ${err.message}`,
      );
    }
  }

  /**
   * Any HTTP answer from the API's origin, whatever its status, means it is up; no answer within the
   * probe timeout means it is not. The probe never carries a token. Concurrent probes share one request.
   */
  reachable(): Promise<boolean> {
    const now = Date.now();
    if (this.probed && now - this.probed.at < PROBE_CACHE_MS) return this.probed.answer;
    const answer = fetch(`${this.origin}/`, {
      method: 'HEAD',
      redirect: 'manual',
      signal: AbortSignal.timeout(Math.min(PROBE_TIMEOUT_MS, this.options.timeoutMs)),
    }).then(
      async (response) => {
        await response.body?.cancel();
        return true;
      },
      () => false,
    );
    this.probed = { at: now, answer };
    return answer;
  }

  async close(): Promise<void> {}
}
