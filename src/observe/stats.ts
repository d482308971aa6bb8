/**
 * The bridge's counters, one schema for a single bridge, for each --workers worker and for their sum in
 * the primary (and, later, for metrics). Bytes count every session, live ones included.
 */

export interface BridgeStats {
  /** Sessions opened (handshakes answered with 101). */
  opened: number;
  /** Sessions ended. */
  closed: number;
  /** Requests refused (handshakes, timeouts, TLS failures, malformed requests). */
  refused: number;
  /** Sessions open right now. */
  live: number;
  bytesToTarget: number;
  bytesToClient: number;
}

export function zeroStats(): BridgeStats {
  return { opened: 0, closed: 0, refused: 0, live: 0, bytesToTarget: 0, bytesToClient: 0 };
}

/** Adds `from` into `into`. */
export function addStats(into: BridgeStats, from: BridgeStats): void {
  into.opened += from.opened;
  into.closed += from.closed;
  into.refused += from.refused;
  into.live += from.live;
  into.bytesToTarget += from.bytesToTarget;
  into.bytesToClient += from.bytesToClient;
}

/**
 * Counts what a bridge does: ended sessions are folded in as they end, live ones are read when a
 * snapshot is taken (a session's counters move with every frame, the tally never does).
 */
export class StatsTally {
  private readonly ended = zeroStats();

  opened(): void {
    this.ended.opened++;
  }

  refused(): void {
    this.ended.refused++;
  }

  closed(session: SessionBytes): void {
    this.ended.closed++;
    this.ended.bytesToTarget += session.bytesToTarget;
    this.ended.bytesToClient += session.bytesToClient;
  }

  /** The counters now, with `live` sessions' bytes. */
  snapshot(live: Iterable<SessionBytes>): BridgeStats {
    const stats = { ...this.ended };
    for (const session of live) {
      stats.live++;
      stats.bytesToTarget += session.bytesToTarget;
      stats.bytesToClient += session.bytesToClient;
    }
    return stats;
  }
}

/** What a tally reads of a session. */
export interface SessionBytes {
  readonly bytesToTarget: number;
  readonly bytesToClient: number;
}
