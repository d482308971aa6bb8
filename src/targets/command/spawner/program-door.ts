/**
 * Where programs started by the fork servers (fork-server.pl) connect their stdin, stdout and stderr: a
 * unix socket in a directory of wstcp's own (mode 0700, so only wstcp's user can reach it). Each child
 * opens three connections before it execs the program and introduces each with one line:
 * "<secret> <id> <fd>\n" (fixed width). A connection with another secret, or no line within a few
 * seconds, is closed and logged (only a process of wstcp's own user can even connect); one for an id
 * nobody waits for any more (the pipes of a start that failed after connecting) is closed quietly.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '../../../observe/log.js';

/** A program's standard descriptor: 0 stdin, 1 stdout, 2 stderr. */
export type StdioFd = 0 | 1 | 2;

export type PipeArrived = (fd: StdioFd, socket: Socket) => void;

/** 32 hex digits of secret, a 10-digit id, the fd, two spaces and the newline. */
const HEADER_BYTES = 32 + 1 + 10 + 1 + 1 + 1;
/** A child connects and writes its line at once; one that does not is not one of ours. */
const HEADER_TIMEOUT_MS = 5000;

export class ProgramDoor {
  readonly secret = randomBytes(16).toString('hex');
  private readonly secretBytes = Buffer.from(this.secret);
  private readonly expected = new Map<number, PipeArrived>();

  private readonly server = createServer((socket) => this.admit(socket));

  private constructor(
    private readonly dir: string,
    /** The socket's path, for the fork servers. */
    readonly path: string,
    private readonly log: Logger,
  ) {
    this.server.unref();
  }

  /** Listens in a new private directory under the system's temporary directory. */
  static async open(log: Logger): Promise<ProgramDoor> {
    const dir = mkdtempSync(join(tmpdir(), 'wstcp-'));
    const door = new ProgramDoor(dir, join(dir, 'programs'), log);
    try {
      await new Promise<void>((resolve, reject) => {
        door.server.once('error', reject);
        door.server.listen(door.path, () => {
          door.server.removeListener('error', reject);
          resolve();
        });
      });
      return door;
    } catch (err) {
      door.close();
      throw err;
    }
  }

  /** The three pipes of program `id` go to `arrived` until `forget(id)`. */
  expect(id: number, arrived: PipeArrived): void {
    this.expected.set(id, arrived);
  }

  forget(id: number): void {
    this.expected.delete(id);
  }

  close(): void {
    this.server.close();
    rmSync(this.dir, { recursive: true, force: true });
  }

  private admit(socket: Socket): void {
    socket.on('error', () => {});
    let introduced = false;
    const timer = setTimeout(() => this.refuse(socket, 'no introduction line'), HEADER_TIMEOUT_MS);
    const onReadable = () => {
      const header = socket.read(HEADER_BYTES) as Buffer | null;
      if (header === null) return;
      introduced = true;
      socket.removeListener('readable', onReadable);
      clearTimeout(timer);
      const pipe = this.introduction(header);
      if (!pipe) {
        this.refuse(socket, 'not introduced with the secret');
        return;
      }
      const arrived = this.expected.get(pipe.id);
      if (!arrived) {
        socket.destroy();
        return;
      }
      arrived(pipe.fd, socket);
    };
    socket.on('readable', onReadable);
    // A connection that ends before its line: nothing more will come.
    socket.once('end', () => {
      if (introduced) return;
      clearTimeout(timer);
      this.refuse(socket, 'ended before its introduction line');
    });
  }

  private refuse(socket: Socket, reason: string): void {
    socket.destroy();
    this.log.warn('command.door_refused', { reason });
  }

  private introduction(header: Buffer): { id: number; fd: StdioFd } | undefined {
    // Shorter when the connection ended before a whole line.
    if (header.length !== HEADER_BYTES) return undefined;
    const secret = this.secretBytes;
    if (!timingSafeEqual(header.subarray(0, secret.length), secret)) return undefined;
    const match = /^ (\d{10}) ([012])\n$/.exec(header.toString('latin1', secret.length));
    if (!match) return undefined;
    return { id: Number(match[1]), fd: Number(match[2]) as StdioFd };
  }
}
