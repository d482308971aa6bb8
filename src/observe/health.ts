/**
 * /healthz and /readyz: alive is "the process answers"; ready is "send me traffic": listening, its stores
 * reachable and not draining. Each answer is a status and a one-line reason.
 */

export interface HealthAnswer {
  readonly ok: boolean;
  readonly reason: string;
}

/** A readiness check: undefined when fine, else why not (one line, no secrets). */
export type ReadinessCheck = () => Promise<string | undefined> | string | undefined;

export class Health {
  private draining = false;
  private listening = false;
  private readonly checks: ReadinessCheck[] = [];

  /** The bridge accepts connections. */
  markListening(): void {
    this.listening = true;
  }

  /** From the first SIGTERM on: load balancers take this instance out while sessions end. */
  markDraining(): void {
    this.draining = true;
  }

  get isDraining(): boolean {
    return this.draining;
  }

  addCheck(check: ReadinessCheck): void {
    this.checks.push(check);
  }

  live(): HealthAnswer {
    return { ok: true, reason: 'alive' };
  }

  async ready(): Promise<HealthAnswer> {
    if (this.draining) return { ok: false, reason: 'draining' };
    if (!this.listening) return { ok: false, reason: 'not listening yet' };
    for (const check of this.checks) {
      let problem: string | undefined;
      try {
        problem = await check();
      } catch (err) {
        problem = (err as Error).message;
      }
      if (problem !== undefined) return { ok: false, reason: problem };
    }
    return { ok: true, reason: 'ready' };
  }
}
