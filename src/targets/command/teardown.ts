/**
 * Ending a program as websocketd does, so that scripts written for it clean up the same way: close its
 * stdin, wait 100 ms + closems; SIGINT, wait 250 ms + closems; SIGTERM, wait 500 ms + closems; SIGKILL,
 * wait up to 1 s. Each signal goes to the program's whole process group (websocketd signals only the
 * program itself, which leaves the rest of a pipeline running).
 */
import type { Program } from './program.js';
import { killGroup } from './spawn.js';

/** What ended the program: it had already exited, or the step after which it did. */
export type StopStep = 'exited' | 'stdin' | 'SIGINT' | 'SIGTERM' | 'SIGKILL' | 'unkillable';

interface Step {
  readonly name: Exclude<StopStep, 'exited' | 'unkillable'>;
  readonly signal: NodeJS.Signals | undefined;
  readonly waitMs: number;
}

/** websocketd's steps and waits for `closeMs` (--close-ms). */
export function stopSteps(closeMs: number): readonly Step[] {
  return [
    { name: 'stdin', signal: undefined, waitMs: 100 + closeMs },
    { name: 'SIGINT', signal: 'SIGINT', waitMs: 250 + closeMs },
    { name: 'SIGTERM', signal: 'SIGTERM', waitMs: 500 + closeMs },
    { name: 'SIGKILL', signal: 'SIGKILL', waitMs: 1000 },
  ];
}

/**
 * Runs the steps until `exited` resolves (the program was reaped). Resolves with the step that ended it,
 * 'unkillable' when even SIGKILL did not within its wait. No timer is left behind either way.
 */
export async function stopProgram(
  child: Program,
  exited: Promise<unknown>,
  closeMs: number,
): Promise<StopStep> {
  if (child.exitCode !== null || child.signalCode !== null) return 'exited';
  let done = false;
  const whenExited = exited.then(() => {
    done = true;
  });
  if (!child.stdin.destroyed) child.stdin.end();
  for (const step of stopSteps(closeMs)) {
    if (step.signal) killGroup(child, step.signal);
    let timer: NodeJS.Timeout | undefined;
    const waited = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, step.waitMs);
    });
    await Promise.race([whenExited, waited]);
    clearTimeout(timer);
    if (done) return step.name;
  }
  return 'unkillable';
}
