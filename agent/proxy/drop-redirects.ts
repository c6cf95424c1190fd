// What a sync does when it can no longer vouch for the proxy's configuration (it failed once the
// filter rules may have changed, or ran without the lock for part of it): the proxy's redirects go,
// so no layer-7 connection reaches a proxy whose configuration may allow what the rules in force
// revoked, and the proxy step is marked to run at the next sync whatever its record says.

import { messageOf } from '../errors.js';
import type { CommandRunner } from '../runner.js';
import type { AgentState } from '../state.js';
import { removeInterception } from './interception.js';

/** What could not be done, each undefined when it was. */
export interface DropProblems {
  /** The step's mark could not be written (the state directory). */
  readonly notMarked?: string;
  /** The redirects could not be removed (the nat table). */
  readonly notRemoved?: string;
}

/**
 * Never throws: a failure is on its way already, or the caller logs what is returned. `timeoutMs`
 * bounds the removal (an agent about to exit must not wait on a hung kernel).
 */
export async function dropRedirects(
  state: Pick<AgentState, 'markProxyDropped'>,
  runner: CommandRunner,
  timeoutMs?: number,
): Promise<DropProblems> {
  let notMarked: string | undefined;
  try {
    state.markProxyDropped();
  } catch (error) {
    notMarked = messageOf(error);
  }
  const removal = removeInterception(runner).then(
    () => undefined,
    (error: unknown) => messageOf(error),
  );
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<string>((done) => {
    if (timeoutMs !== undefined) timer = setTimeout(() => done(`not done within ${timeoutMs} ms`), timeoutMs);
  });
  const notRemoved = await Promise.race([removal, late]);
  clearTimeout(timer);
  return {
    ...(notMarked === undefined ? {} : { notMarked }),
    ...(notRemoved === undefined ? {} : { notRemoved }),
  };
}
