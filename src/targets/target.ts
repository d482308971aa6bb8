/**
 * The target seam: what a session's far side is, seen from the relay. It mirrors the client side
 * (websocket/link.ts): a `TargetKind` is opened during the handshake and yields a `TargetStream`, which a
 * Session drives the way it drives a ClientLink, and which reports to its `TargetOwner` the way a link
 * reports to its LinkOwner. The relay never sees a socket, a process or a protocol behind a stream.
 *
 * Kinds live one per file in this folder and are listed in registry.ts; adding one is a new file there
 * plus one line in the registry (docs/architecture.md).
 */
import type { ConnectionOptions } from 'node:tls';
import type { AllowRules } from '../admission/allow-target.js';
import type { HandshakeContext } from '../admission/pipeline.js';
import type { Pools } from './pool/pools.js';

/** Where a session's bytes go: a value of one kind, told apart by `kind` (the registry's key). */
export interface Target extends RouteOptions {
  readonly kind: string;
}

/** What a token store may say about a route besides its address (a token line's options: tokens/). */
export interface RouteOptions {
  /** Subprotocols the target speaks, accepted besides `binary` and --subprotocol (e.g. `mqtt`). */
  readonly subprotocols?: readonly string[];
}

/** What opening a target may use. */
export interface OpenOptions {
  /** Date.now() by which the stream must be open; a kind that cannot make it rejects with TARGET_TIMEOUT. */
  readonly deadline: number;
  /** Aborted when the client goes away while the target is being opened: give up and release everything. */
  readonly signal: AbortSignal;
  /** The handshake this target is opened for (a command reads its request; sockets ignore it). */
  readonly ctx: HandshakeContext;
  /** Socket kinds: try IPv6 addresses first (--prefer-ipv6). */
  readonly preferIpv6: boolean;
  /** Socket kinds: speak TLS to the target with these options (--ssl-target). */
  readonly tls: ConnectionOptions | undefined;
  /** The pool kind: the bridge's member states and balancing. */
  readonly pools?: Pools | undefined;
}

/** One kind of target: its text form, its --allow-target check, and how to open one. */
export interface TargetKind<T extends Target = Target> {
  /** The `kind` of its targets. */
  readonly kind: T['kind'];
  /** Reads the text form of a target of this kind; undefined when `text` is not of this kind. */
  parse(text: string): T | undefined;
  /** The text form, for log lines and messages (parse(format(t)) gives t back). */
  format(target: T): string;
  /** Whether the --allow-target rules let sessions reach `target`. */
  allowedBy(rules: AllowRules, target: T): boolean;
  /**
   * Opens the target, before the handshake is answered. Rejects with an HttpError carrying a catalogued
   * code (TARGET_UNREACHABLE, TARGET_TIMEOUT, TOO_MANY_CONNECTIONS, ...), never leaving anything open.
   */
  open(target: T, options: OpenOptions): Promise<TargetStream>;
}

/**
 * How the owner may use the bytes it is handed:
 * - 'borrowed': only during the call (they are in a shared read buffer);
 * - 'given': it may keep them;
 * - 'given-with-room': it may keep them, and the MAX_HEADER_BYTES bytes in front of them in memory are
 *   theirs too, free for a frame header (zero-copy frames). When it keeps them, it calls `written` once
 *   they are no longer needed, so the buffer can serve another read;
 * - 'text': given, and one whole message of UTF-8 text, to be sent as a text frame (line-oriented targets).
 */
export type TargetBytes = 'borrowed' | 'given' | 'given-with-room' | 'text';

/** What a target stream reports to its session. Each is called from the stream's own events. */
export interface TargetOwner {
  /** Bytes from the target; returns true when it kept given bytes (they wait in the client's queue). */
  targetData(data: Buffer, bytes: TargetBytes, written?: () => void): boolean;
  /** Everything written to the target has been taken: the client may be read again. */
  targetDrained(): void;
  /** The target will send nothing more (EOF, or a program's output closed). */
  targetEnd(): void;
  /** The target failed (reset, I/O error); `close` follows. */
  targetError(err: NodeJS.ErrnoException): void;
  /** The stream is gone (once); nothing more is reported. */
  targetClose(): void;
}

/** An open target, as a Session sees it. */
export interface TargetStream {
  /** Bytes written and not yet taken by the target (backpressure towards the client). */
  readonly queuedBytes: number;
  /** Reading from the target is paused (backpressure from the client). */
  readonly paused: boolean;
  /** Nothing more can be written: `end()` was called, or the target ended its side by itself. */
  readonly ended: boolean;
  /** The stream wants `messageEnd()` after each client message (a line-oriented target). */
  readonly wantsMessageEnds: boolean;
  /** Starts reporting to `owner`, including what arrived before. Called once. */
  attach(owner: TargetOwner): void;
  /**
   * Passes client payload bytes on (a message may arrive in several calls). `written` runs once the target
   * has taken them, with an error when it never will (the session counts those bytes as dropped, and
   * resumes the client when a write crossed the limit: small writes may never add up to a drain).
   */
  write(data: Buffer, written?: (err?: Error | null) => void): void;
  /** The client message whose bytes were just written is complete (only when `wantsMessageEnds`). */
  messageEnd(): void;
  /** Bracket the writes made for one client read, so they reach the target as one write. */
  cork(): void;
  uncork(): void;
  pause(): void;
  resume(): void;
  /** Nothing more will be written: let the target finish (half-close, close a program's stdin). Idempotent. */
  end(): void;
  /** Drops the target at once (a program is signalled and reaped). */
  destroy(): void;
}
