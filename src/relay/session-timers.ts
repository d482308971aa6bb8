/**
 * Timers over every live session: the heartbeat (--heartbeat: ping, and drop a client whose last ping was
 * never answered) and the idle sweep (--session-idle-timeout: close sessions whose byte counters have not
 * moved). One timer each for all sessions; nothing per frame.
 */
import type { Session } from './session.js';

export interface SessionTimerOptions {
  readonly heartbeatMs: number | undefined;
  readonly sessionIdleTimeoutMs: number | undefined;
}

/** Starts the timers the options ask for; returns the function that stops them. */
export function startSessionTimers(
  sessions: ReadonlySet<Session>,
  options: SessionTimerOptions,
  onHeartbeatMissed?: () => void,
): () => void {
  const timers: NodeJS.Timeout[] = [];
  const { heartbeatMs, sessionIdleTimeoutMs } = options;
  if (heartbeatMs) {
    timers.push(
      setInterval(() => {
        for (const session of sessions) if (session.heartbeat()) onHeartbeatMissed?.();
      }, heartbeatMs),
    );
  }
  if (sessionIdleTimeoutMs) timers.push(idleSweeper(sessions, sessionIdleTimeoutMs));
  return () => {
    for (const timer of timers) clearInterval(timer);
  };
}

/** Closes sessions whose byte counters have not moved for `idleMs`. */
function idleSweeper(sessions: ReadonlySet<Session>, idleMs: number): NodeJS.Timeout {
  const seen = new WeakMap<Session, { total: number; since: number }>();
  return setInterval(
    () => {
      const now = Date.now();
      for (const session of sessions) {
        const total = session.bytesToClient + session.bytesToTarget;
        const last = seen.get(session);
        if (!last || last.total !== total) seen.set(session, { total, since: now });
        else if (now - last.since >= idleMs) session.close(1000, 'session idle timeout');
      }
    },
    Math.max(50, Math.min(1000, idleMs / 4)),
  );
}
