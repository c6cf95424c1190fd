// Children of local mode that must not outlive it, even when it is killed with SIGKILL (no Node code
// runs then): started through util-linux's `setpriv --pdeathsig`, the kernel signals them when
// their parent dies. Where setpriv is missing they start as before, and stop() ends them.
import { spawnSync } from 'node:child_process';

let available: boolean | undefined;

/** Whether `setpriv --pdeathsig` works here (checked once). */
export function hasParentDeathSignal(): boolean {
  available ??= spawnSync('setpriv', ['--pdeathsig', 'TERM', 'true'], { stdio: 'ignore' }).status === 0;
  return available;
}

/** `command args…` prefixed so that it gets `signal` when the process that started it dies. */
export function tiedToParent(argv: readonly string[], signal: 'TERM' | 'KILL' = 'TERM'): string[] {
  return hasParentDeathSignal() ? ['setpriv', '--pdeathsig', signal, ...argv] : [...argv];
}
