/**
 * Every kind of target the bridge can reach, by `kind`. A new kind is a file in this folder implementing
 * TargetKind (target.ts) and one line in KINDS; the rest of the bridge (admission, --allow-target, the
 * relay, log lines) finds it here. Text forms are tried in the order of KINDS; the last one, tcp, reads
 * whatever the others did not claim as host:port.
 */
import { commandKind } from './command.js';
import { poolKind } from './pool/pool-kind.js';
import type { PoolTarget } from './pool/pool-target.js';
import type { OpenOptions, RouteOptions, Target, TargetKind, TargetStream } from './target.js';
import { type TcpTarget, tcpKind } from './tcp.js';
import { type UnixTarget, unixKind } from './unix.js';

const KINDS: readonly TargetKind[] = [
  // Before the socket kinds: a pool's text is a list of their forms.
  poolKind as TargetKind,
  unixKind as TargetKind,
  commandKind as TargetKind,
  // To add a kind: import it above and list it here, before tcp (whose form is the fallback).
  tcpKind as TargetKind,
];

const byKind = new Map<string, TargetKind>(KINDS.map((kind) => [kind.kind, kind]));

/**
 * What token stores may name: sockets, or pools of them, with the options a store may give a route (a
 * store never starts a program: see docs/architecture.md).
 */
export type SocketTarget = (TcpTarget | UnixTarget | PoolTarget) & RouteOptions;

/** The kind of `target`; throws for a kind that is not registered (a bug). */
export function kindOf(target: Target): TargetKind {
  const kind = byKind.get(target.kind);
  if (kind === undefined) throw new Error(`no target kind "${target.kind}" is registered`);
  return kind;
}

/** Parses a target given on the command line; throws AddressError when no kind reads it. */
export function parseTarget(text: string): Target {
  for (const kind of KINDS) {
    const target = kind.parse(text);
    if (target !== undefined) return target;
  }
  throw new Error('unreachable: tcp reads every text');
}

/** Parses a target a token store holds: `host:port`, `[v6]:port`, `unix_socket:/path` or a pool of them. */
export function parseSocketTarget(text: string): SocketTarget {
  return poolKind.parse(text) ?? unixKind.parse(text) ?? tcpKind.parse(text)!;
}

/** The text form of `target`, for log lines and messages. */
export function formatTarget(target: Target): string {
  return kindOf(target).format(target);
}

/** Opens `target` with its kind (see TargetKind.open). */
export function openTarget(target: Target, options: OpenOptions): Promise<TargetStream> {
  return kindOf(target).open(target, options);
}
