/**
 * A pool: several socket targets behind one name. Its text form is the members separated by commas, each a
 * socket target with optional settings, in either of two spellings that may be mixed:
 *
 *   vnc1:5900 weight=3, vnc2:5900, vnc3:5900 backup      as in nginx's `server` lines (token files)
 *   vnc1:5900@3,vnc2:5900,vnc3:5900@backup              compact, without spaces (the command line)
 *
 * A single address without settings is not a pool (it stays a plain target); `vnc1:5900@2` alone is a
 * pool of one. Members are sockets only: a pool never contains a pool.
 */
import { AddressError } from '../../address.js';
import { type TcpTarget, tcpKind } from '../tcp.js';
import { type UnixTarget, unixKind } from '../unix.js';

/** What a pool member reaches: a socket. */
export type MemberTarget = TcpTarget | UnixTarget;

export interface PoolMember {
  readonly target: MemberTarget;
  /** Share of the sessions relative to the others (nginx `weight=`), 1 to MAX_WEIGHT. */
  readonly weight: number;
  /** Used only when no other member is available (nginx `backup`). */
  readonly backup: boolean;
}

export interface PoolTarget {
  readonly kind: 'pool';
  readonly members: readonly PoolMember[];
}

export const MAX_WEIGHT = 1000;
/** Bounds the work per handshake and the size of a token's value. */
export const MAX_MEMBERS = 64;

const COMPACT_SETTING = /@(\d+|backup)$/;
const SPACED_SETTING = /\s(?:weight=|backup\b)/;

/** Whether `text` is written as a pool (several members, or member settings), not as a single target. */
export function looksLikePool(text: string): boolean {
  const trimmed = text.trim();
  return trimmed.includes(',') || SPACED_SETTING.test(trimmed) || COMPACT_SETTING.test(trimmed);
}

/** Reads a pool; undefined when `text` is a single plain target. Throws AddressError naming the problem. */
export function parsePool(text: string): PoolTarget | undefined {
  if (!looksLikePool(text)) return undefined;
  const parts = text.split(',');
  if (parts.length > MAX_MEMBERS) {
    throw new AddressError(`the pool has ${parts.length} members; at most ${MAX_MEMBERS} are allowed`);
  }
  return checkedPool(parts.map((part) => parseMember(part)));
}

/** Builds a pool from members given one by one (JSON lists); the same checks as parsePool. */
export function poolOf(members: readonly PoolMember[]): PoolTarget {
  if (members.length > MAX_MEMBERS) {
    throw new AddressError(`the pool has ${members.length} members; at most ${MAX_MEMBERS} are allowed`);
  }
  return checkedPool(members);
}

function checkedPool(members: readonly PoolMember[]): PoolTarget {
  if (members.length === 0) throw new AddressError('the pool has no members');
  const seen = new Set<string>();
  for (const member of members) {
    const name = formatMemberTarget(member.target);
    if (seen.has(name)) throw new AddressError(`the pool names ${name} twice`);
    seen.add(name);
  }
  if (members.every((m) => m.backup)) {
    throw new AddressError('every member of the pool is a backup; at least one must not be');
  }
  return { kind: 'pool', members };
}

/** One member: `address[@N][@backup] [weight=N] [backup]`. */
export function parseMember(text: string): PoolMember {
  const words = text.trim().split(/\s+/);
  let address = words[0] ?? '';
  if (address === '') throw new AddressError('the pool has an empty member (two commas in a row?)');
  let weight: number | undefined;
  let backup = false;
  const settings = words.slice(1);
  for (let match = COMPACT_SETTING.exec(address); match; match = COMPACT_SETTING.exec(address)) {
    settings.unshift(match[1] === 'backup' ? 'backup' : `weight=${match[1]}`);
    address = address.slice(0, match.index);
  }
  for (const setting of settings) {
    if (setting === 'backup') {
      backup = true;
    } else if (setting.startsWith('weight=')) {
      if (weight !== undefined) throw new AddressError(`member "${address}" has two weights`);
      weight = parseWeight(setting.slice('weight='.length), address);
    } else {
      throw new AddressError(
        `member "${address}" has an unknown setting "${setting}" (expected weight=N or backup)`,
      );
    }
  }
  const target = unixKind.parse(address) ?? tcpKind.parse(address)!;
  return { target, weight: weight ?? 1, backup };
}

/** A weight, 1 to MAX_WEIGHT; throws AddressError naming the member. */
export function parseWeight(text: string, address: string): number {
  const weight = /^\d{1,4}$/.test(text) ? Number(text) : Number.NaN;
  if (!(weight >= 1 && weight <= MAX_WEIGHT)) {
    throw new AddressError(`member "${address}" has weight "${text}"; expected 1 to ${MAX_WEIGHT}`);
  }
  return weight;
}

/** The compact text form (parsePool(formatPool(p)) gives p back). */
export function formatPool(pool: PoolTarget): string {
  return pool.members.map(formatMember).join(',');
}

/** One member in the compact form: `vnc1:5900@3`, `[fd00::3]:5900@backup`. */
export function formatMember(member: PoolMember): string {
  const weight = member.weight === 1 ? '' : `@${member.weight}`;
  return `${formatMemberTarget(member.target)}${weight}${member.backup ? '@backup' : ''}`;
}

/** A member's address: `host:port`, `[v6]:port` or `unix_socket:/path`. */
export function formatMemberTarget(target: MemberTarget): string {
  return target.kind === 'unix' ? unixKind.format(target) : tcpKind.format(target);
}
