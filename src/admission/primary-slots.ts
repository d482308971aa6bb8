/**
 * Connection limits across --workers: the primary holds the one count; each worker asks it for a slot
 * over IPC and gives it back when the session ends. A worker that dies gives back every slot it held.
 */
import cluster, { type Worker } from 'node:cluster';
import type { Release } from './pipeline.js';
import { LocalSlots, once, type SlotCounter } from './slots.js';

interface TakeMessage {
  type: 'wstcp:slot-take';
  id: number;
  key: string;
  max: number;
}
interface TakenMessage {
  type: 'wstcp:slot-taken';
  id: number;
  ok: boolean;
}
interface GiveMessage {
  type: 'wstcp:slot-give';
  key: string;
}

/** A primary that does not answer within this long is taken as gone: the handshake is refused (503). */
const ANSWER_TIMEOUT_MS = 5000;

function isMessage<T extends { type: string }>(message: unknown, type: T['type']): message is T {
  return typeof message === 'object' && message !== null && (message as { type?: unknown }).type === type;
}

/** In a worker: slots taken from the primary. */
export class PrimarySlots implements SlotCounter {
  private nextId = 1;
  private readonly waiting = new Map<number, (ok: boolean) => void>();
  private readonly onMessage = (message: unknown) => {
    if (isMessage<TakenMessage>(message, 'wstcp:slot-taken')) this.waiting.get(message.id)?.(message.ok);
  };

  constructor() {
    process.on('message', this.onMessage);
  }

  take(key: string, max: number): Promise<Release | undefined> {
    return new Promise((resolve, reject) => {
      if (!process.send || !process.connected) {
        reject(new Error('no primary to count connections'));
        return;
      }
      const id = this.nextId++;
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error('the primary did not answer'));
      }, ANSWER_TIMEOUT_MS);
      this.waiting.set(id, (ok) => {
        clearTimeout(timer);
        this.waiting.delete(id);
        resolve(ok ? once(() => this.give(key)) : undefined);
      });
      const take: TakeMessage = { type: 'wstcp:slot-take', id, key, max };
      process.send(take);
    });
  }

  private give(key: string): void {
    const give: GiveMessage = { type: 'wstcp:slot-give', key };
    if (process.connected) process.send?.(give);
  }

  async close(): Promise<void> {
    process.off('message', this.onMessage);
  }
}

/** In the primary: the count for every worker, and what each worker holds (to give back when it dies). */
export class SlotKeeper {
  private readonly slots = new LocalSlots();
  private readonly held = new Map<number, Map<string, Release[]>>();
  private readonly onMessage = (worker: Worker, message: unknown) => this.received(worker, message);
  private readonly onExit = (worker: Worker) => this.releaseAll(worker.id);

  constructor() {
    cluster.on('message', this.onMessage);
    cluster.on('exit', this.onExit);
  }

  /** Slots taken under `key` now, by all workers. */
  live(key: string): number {
    return this.slots.live(key);
  }

  close(): void {
    cluster.off('message', this.onMessage);
    cluster.off('exit', this.onExit);
  }

  private received(worker: Worker, message: unknown): void {
    if (isMessage<TakeMessage>(message, 'wstcp:slot-take')) {
      const release = this.slots.take(message.key, message.max);
      if (release) {
        let byKey = this.held.get(worker.id);
        if (!byKey) {
          byKey = new Map();
          this.held.set(worker.id, byKey);
        }
        const list = byKey.get(message.key) ?? [];
        list.push(release);
        byKey.set(message.key, list);
      }
      const answer: TakenMessage = { type: 'wstcp:slot-taken', id: message.id, ok: release !== undefined };
      if (worker.isConnected()) worker.send(answer);
    } else if (isMessage<GiveMessage>(message, 'wstcp:slot-give')) {
      const byKey = this.held.get(worker.id);
      const list = byKey?.get(message.key);
      list?.pop()?.();
      if (byKey && list && list.length === 0) byKey.delete(message.key);
    }
  }

  private releaseAll(workerId: number): void {
    const byKey = this.held.get(workerId);
    this.held.delete(workerId);
    for (const list of byKey?.values() ?? []) for (const release of list) release();
  }
}
