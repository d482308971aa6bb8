/**
 * systemd integration: socket activation (LISTEN_FDS, LISTEN_PID, LISTEN_FDNAMES) and readiness
 * notification (NOTIFY_SOCKET). Both are plain environment contracts (sd_listen_fds(3), sd_notify(3)),
 * so nothing here needs libsystemd.
 *
 * Node cannot send a unix datagram, so notifications go through systemd's own `systemd-notify` program,
 * which is wherever systemd is. It sends from its own process, so the unit says `NotifyAccess=all`
 * (systemd/wstcp.service does).
 */
import { execFile } from 'node:child_process';

/** The first descriptor systemd passes (SD_LISTEN_FDS_START). */
const LISTEN_FDS_START = 3;

/** Sockets passed by systemd, by name (LISTEN_FDNAMES; unnamed ones are called "unknown"). */
export interface ActivatedSockets {
  /** The descriptor for the bridge: the one named "wstcp" (or "main"), else the first unnamed one. */
  readonly main: number | undefined;
  /** The descriptor named "metrics", for the --metrics listener. */
  readonly metrics: number | undefined;
  readonly count: number;
}

/**
 * The sockets systemd passed to this process, or undefined when it passed none (or passed them to
 * another process: LISTEN_PID names who they are for, and a child must not take its parent's).
 */
export function activatedSockets(env: NodeJS.ProcessEnv, pid: number): ActivatedSockets | undefined {
  if (env.LISTEN_PID === undefined || Number(env.LISTEN_PID) !== pid) return undefined;
  const count = Number(env.LISTEN_FDS);
  if (!Number.isInteger(count) || count < 1) return undefined;
  const names = (env.LISTEN_FDNAMES ?? '').split(':');
  const fdNamed = (wanted: readonly string[]) => {
    for (let i = 0; i < count; i++) if (wanted.includes(names[i] ?? '')) return LISTEN_FDS_START + i;
    return undefined;
  };
  const metrics = fdNamed(['metrics']);
  let main = fdNamed(['wstcp', 'main']);
  if (main === undefined) {
    for (let i = 0; i < count && main === undefined; i++) {
      if (LISTEN_FDS_START + i !== metrics) main = LISTEN_FDS_START + i;
    }
  }
  return { main, metrics, count };
}

/**
 * Removes the activation variables, as sd_listen_fds(1) does, so that processes this one starts (the
 * --workers, commands) do not take the descriptors for theirs.
 */
export function forgetActivation(env: NodeJS.ProcessEnv): void {
  delete env.LISTEN_FDS;
  delete env.LISTEN_PID;
  delete env.LISTEN_FDNAMES;
}

/** Tells systemd about this process's state (READY=1, STOPPING=1, STATUS=...), when it asked to be told. */
export class SystemdNotifier {
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly socket: string | undefined,
    private readonly program = 'systemd-notify',
    private readonly onError: (err: Error) => void = () => {},
  ) {}

  get enabled(): boolean {
    return this.socket !== undefined && this.socket !== '';
  }

  /** Sends `fields` (KEY=value), in order after any earlier notification; never throws. */
  notify(...fields: string[]): Promise<void> {
    if (!this.enabled) return Promise.resolve();
    const send = () =>
      new Promise<void>((resolve) => {
        const ready = fields.includes('READY=1');
        const status = fields.find((f) => f.startsWith('STATUS='));
        const others = fields.filter((f) => f !== 'READY=1' && !f.startsWith('STATUS='));
        const args = [
          ...(ready ? ['--ready'] : []),
          ...(status ? [`--status=${status.slice(7)}`] : []),
          ...others,
        ];
        execFile(
          this.program,
          args,
          { env: { ...process.env, NOTIFY_SOCKET: this.socket }, timeout: 5000 },
          (err) => {
            if (err) this.onError(err);
            resolve();
          },
        );
      });
    this.queue = this.queue.then(send);
    return this.queue;
  }
}
