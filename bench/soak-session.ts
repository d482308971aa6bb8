/**
 * One soak session: a WebSocket client through the bridge to an echo target, sending seeded random
 * messages and hashing every byte sent and every byte echoed. Its plan (lifetime, how it ends, whether it
 * reads slowly) comes from the session's own Prng, so a run's traffic follows from its seed; only the
 * interleaving depends on timing.
 */
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import type { Prng } from '../test/helpers/prng.js';

export type Ending = 'clean' | 'vanish' | 'slow-reader';

export type SessionResult =
  /** Closed cleanly (1000 both ways) with the echo's SHA-256 equal to what was sent. */
  | { kind: 'matched'; ending: Ending; bytes: number }
  /** Dropped by the client on purpose (socket destroyed, no close frame): nothing to compare. */
  | { kind: 'vanished'; bytes: number }
  /** Anything else: a refused handshake, a wrong close code, a hash mismatch, a timeout. */
  | { kind: 'failed'; ending: Ending; detail: string };

/** Unanswered bytes a session keeps in flight at most: enough to fill socket buffers and exercise backpressure. */
const WINDOW_BYTES = 512 * 1024;
const OPEN_TIMEOUT_MS = 10_000;
/** How long a clean session may take to get its last echo and the close answer. */
const FINISH_TIMEOUT_MS = 30_000;

/** A message size: log-uniform from 1 byte to 64 KiB, now and then 256 KiB to 1 MiB. */
function messageSize(rng: Prng): number {
  if (rng.chance(0.02)) return rng.int(256 * 1024, 1024 * 1024);
  return Math.max(1, Math.floor(2 ** (rng.next() * 16)));
}

function waitUntil(predicate: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  return (async () => {
    while (!predicate()) {
      if (Date.now() > deadline) return false;
      await sleep(5);
    }
    return true;
  })();
}

/** Runs one session to its end; `pool` is the seeded bytes messages are cut from (at least 2 MiB). */
export async function runSession(
  url: string,
  rng: Prng,
  pool: Buffer,
  stopAt: number,
): Promise<SessionResult> {
  const r = rng.next();
  const ending: Ending = r < 0.2 ? 'vanish' : r < 0.35 ? 'slow-reader' : 'clean';
  const lifetimeMs = rng.int(100, 8000);
  const deadline = Math.min(Date.now() + lifetimeMs, stopAt);

  const ws = new WebSocket(url, { perMessageDeflate: false });
  ws.binaryType = 'nodebuffer';
  const sentHash = createHash('sha256');
  const receivedHash = createHash('sha256');
  let sent = 0;
  let received = 0;
  let closeCode: number | undefined;
  let error: string | undefined;
  ws.on('message', (data: Buffer) => {
    receivedHash.update(data);
    received += data.length;
  });
  ws.on('close', (code: number) => {
    closeCode = code;
  });
  ws.on('error', (err: Error) => {
    error ??= err.message;
  });
  ws.on('unexpected-response', (_req, res) => {
    error ??= `handshake refused with HTTP ${res.statusCode}`;
    res.resume();
    ws.terminate();
  });
  const fail = (detail: string): SessionResult => {
    ws.terminate();
    return { kind: 'failed', ending, detail };
  };

  const opened = await waitUntil(() => ws.readyState !== WebSocket.CONNECTING, OPEN_TIMEOUT_MS);
  if (!opened || ws.readyState !== WebSocket.OPEN) return fail(error ?? 'the handshake did not complete');

  let pausedUntil = 0;
  while (Date.now() < deadline && ws.readyState === WebSocket.OPEN) {
    if (sent - received < WINDOW_BYTES && ws.bufferedAmount < WINDOW_BYTES) {
      const size = messageSize(rng);
      const from = rng.int(0, pool.length - size);
      const chunk = pool.subarray(from, from + size);
      ws.send(chunk);
      sentHash.update(chunk);
      sent += size;
    }
    if (ending === 'slow-reader') {
      // Stop reading for a while: the echo backs up through the bridge to the target and back.
      if (pausedUntil === 0 && rng.chance(0.2)) {
        ws.pause();
        pausedUntil = Date.now() + rng.int(50, 1500);
      } else if (pausedUntil !== 0 && Date.now() >= pausedUntil) {
        ws.resume();
        pausedUntil = 0;
      }
    }
    if (ending === 'vanish' && rng.chance(0.05)) break;
    await sleep(rng.int(5, 50));
  }
  if (ending === 'vanish') {
    ws.terminate();
    return { kind: 'vanished', bytes: sent };
  }
  if (ws.readyState !== WebSocket.OPEN)
    return fail(`closed early with ${closeCode ?? 'no code'} (${error ?? 'no error'})`);
  ws.resume();
  if (!(await waitUntil(() => received >= sent || ws.readyState !== WebSocket.OPEN, FINISH_TIMEOUT_MS)))
    return fail(`echo stalled: ${received} of ${sent} bytes back`);
  ws.close(1000);
  if (!(await waitUntil(() => closeCode !== undefined, FINISH_TIMEOUT_MS))) return fail('no close answer');
  if (closeCode !== 1000) return fail(`close code ${closeCode} (${error ?? 'no error'})`);
  if (received !== sent) return fail(`${received} of ${sent} bytes echoed`);
  if (receivedHash.digest('hex') !== sentHash.digest('hex'))
    return fail(`SHA-256 mismatch over ${sent} bytes`);
  return { kind: 'matched', ending, bytes: sent };
}
