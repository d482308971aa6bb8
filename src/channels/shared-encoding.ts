/**
 * A message as one transport sends it (a WebSocket frame, an EventSource event), built once and shared by
 * every subscriber it goes to: fan-out writes the same buffer to each socket.
 *
 * A fan-out asks for the same message, or the same pass's batch, once per subscriber and in a row, so the
 * last one asked for is kept at hand; the others wait in a WeakMap for as long as their message lives (in
 * a channel's buffer, or in a pass).
 */
import type { ChannelMessage } from './message.js';

export class SharedEncoding {
  private readonly built = new WeakMap<ChannelMessage, Buffer>();
  private lastMessage: ChannelMessage | undefined;
  private lastBuilt: Buffer | undefined;
  private lastBatch: readonly ChannelMessage[] | undefined;
  private lastBatchBuilt: Buffer | undefined;

  constructor(private readonly encode: (message: ChannelMessage) => Buffer) {}

  /** The message's encoding, built on first use. */
  of(message: ChannelMessage): Buffer {
    if (message === this.lastMessage) return this.lastBuilt as Buffer;
    let built = this.built.get(message);
    if (!built) {
      built = this.encode(message);
      this.built.set(message, built);
    }
    this.lastMessage = message;
    this.lastBuilt = built;
    return built;
  }

  /** `batch[from..]` end to end in one buffer, built once per batch when `from` is 0. */
  ofBatch(batch: readonly ChannelMessage[], from: number): Buffer {
    if (from === 0 && batch === this.lastBatch) return this.lastBatchBuilt as Buffer;
    const parts: Buffer[] = [];
    for (let i = from; i < batch.length; i++) parts.push(this.of(batch[i] as ChannelMessage));
    const built = Buffer.concat(parts);
    if (from === 0) {
      this.lastBatch = batch;
      this.lastBatchBuilt = built;
    }
    return built;
  }
}
