// `agent logs …`: follows ulogd's JSON output and writes each refused connection enriched with its
// container's identity (logging/log-forwarder.ts) until SIGTERM or SIGINT; then one summary line on
// stderr and exit 0. `agent ulogd-config …` prints the ulogd configuration that feeds it.
import { appendFile } from 'node:fs/promises';
import { jsonLineLog } from '../core/log.js';
import type { Logs, UlogdConfig } from './cli-args.js';
import type { CliIo } from './cli-io.js';
import { startForwarder } from './logging/log-forwarder.js';
import { renderUlogdConfig } from './logging/ulogd-config.js';
import { AGENT_SERVICE } from './sync-summary.js';

export const LOGS_STOPPED = 'log forwarder stopped';

/** Aborted by the first SIGTERM or SIGINT of this process. */
export function processStopSignal(): AbortSignal {
  const controller = new AbortController();
  const stop = (): void => {
    process.off('SIGTERM', stop);
    process.off('SIGINT', stop);
    controller.abort();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  return controller.signal;
}

export async function logs(args: Logs, io: CliIo, stop: AbortSignal = processStopSignal()): Promise<void> {
  const output = args.output;
  const forwarder = await startForwarder({
    input: args.input,
    containers: args.containers,
    fromStart: args.fromStart,
    ...(args.positionFile === undefined ? {} : { positionFile: args.positionFile }),
    ...(args.proxyPort === undefined ? {} : { proxyPort: args.proxyPort }),
    // One append per poll: a rotated output file (logrotate without copytruncate) is picked up at once.
    write: output === undefined ? io.stdout : (text) => appendFile(output, text),
    warn: (message) => io.stderr(`warning: ${message}\n`),
  });
  await new Promise<void>((resolve) => {
    if (stop.aborted) resolve();
    else stop.addEventListener('abort', () => resolve(), { once: true });
  });
  await forwarder.stop();
  const log = jsonLineLog({ service: AGENT_SERVICE, write: (line) => io.stderr(`${line}\n`) });
  log.info(LOGS_STOPPED, { ...forwarder.stats() });
}

export function ulogdConfig(args: UlogdConfig, io: CliIo): void {
  io.stdout(
    renderUlogdConfig({ group: args.group, output: args.jsonFile, pluginDir: args.pluginDir, logfile: args.logfile }),
  );
}
