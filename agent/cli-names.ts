// `agent names …`: keep the host-name sets (names/) at the current addresses of their names. With
// `--once`, one pass and one log line ("names refreshed", nextDelayMs saying when the next is due);
// else passes until SIGTERM or SIGINT, then "names refresh stopped" and exit 0. The names file is
// read again on every pass and whenever it changes (NamesFileWatch): with `--from-sync` it is the
// document the sync writes, so a destination the sync adds is resolved within about a second.
import { jsonLineLog } from '../core/log.js';
import type { Names } from './cli-args.js';
import { type CliIo, cliRunner } from './cli-io.js';
import { processStopSignal } from './cli-logs.js';
import { NamesFileWatch } from './names/names-file.js';
import { NAMES_REFRESHED, NAMES_STOPPED, NameRefresher, refreshLoop } from './names/refresh.js';
import { readResolvConf } from './names/resolv-conf.js';
import { dnsResolver } from './names/resolve.js';
import { AGENT_SERVICE } from './sync-summary.js';

export async function names(args: Names, io: CliIo, stop?: AbortSignal): Promise<void> {
  // Both read before anything else, so a wrong file is exit 1 at once, never a loop of failures.
  const watch = new NamesFileWatch(args.names, args.fromSync);
  const destinations = await watch.read();
  const nameservers = args.nameservers ?? (await readResolvConf());
  const log = jsonLineLog({
    service: AGENT_SERVICE,
    write: (line, level) => (level === 'INFO' || level === 'DEBUG' ? io.stdout : io.stderr)(`${line}\n`),
  });
  const refresher = new NameRefresher({
    runner: cliRunner(io, undefined),
    resolve: dnsResolver({ nameservers }),
    policy: args.policy,
    never: args.never,
    stateDir: args.stateDir,
    destroyUnwanted: !args.fromSync,
  });
  if (args.once) {
    let result: Awaited<ReturnType<NameRefresher['pass']>>;
    try {
      result = await refresher.pass(destinations);
    } finally {
      if (refresher.stateWarning !== undefined)
        log.warn('names state not trusted', { problem: refresher.stateWarning });
    }
    for (const { subject, problem } of result.problems) log.warn('name problem', { name: subject, problem });
    const { problems, ...counts } = result;
    log.info(NAMES_REFRESHED, { ...counts, problems: problems.length });
    return;
  }
  const outcome = await refreshLoop({
    refresher,
    destinations: () => watch.read(),
    changed: () => watch.changed(),
    policy: args.policy,
    log,
    // Only the loop listens for SIGTERM: a `--once` pass is ended by it as any command is.
    stop: stop ?? processStopSignal(),
  });
  log.info(NAMES_STOPPED, outcome);
}
