/**
 * Command targets (--cmd, --dir): one program per WebSocket session, as websocketd runs them. The
 * program, its environment and its teardown live in targets/command/; this is the kind the registry lists.
 *
 * A command target is never read from text: no token store, request or JWT can name a program, only the
 * command line that started wstcp. So `parse` claims nothing and --allow-target has nothing to check.
 */
import type { CommandLauncher } from './command/launcher.js';
import type { TargetKind } from './target.js';

export interface CommandTarget {
  readonly kind: 'command';
  readonly launcher: CommandLauncher;
}

export const commandKind: TargetKind<CommandTarget> = {
  kind: 'command',
  parse: () => undefined,
  format: (target) => target.launcher.describe(),
  allowedBy: () => true,
  open: (target, options) => target.launcher.open(options.ctx, options.signal),
};
