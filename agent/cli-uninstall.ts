// `agent uninstall [--netns NS] [--dry-run]`: take the agent's chains, hook and sets out of the kernel.
// `--dry-run` prints what would go (payload, then `# ipset: destroy …` lines); an uninstall ends with
// one log line. Nothing left to remove is a success. Systemd units are not this command's business.
import { jsonLineLog } from '../core/log.js';
import type { Uninstall } from './cli-args.js';
import { type CliIo, cliRunner } from './cli-io.js';
import { AGENT_SERVICE } from './sync-summary.js';
import { applyUninstall, planUninstall } from './uninstall.js';

export const AGENT_UNINSTALLED = 'agent uninstalled';

export async function uninstall(args: Uninstall, io: CliIo): Promise<void> {
  const started = performance.now();
  const runner = cliRunner(io, args.netns);
  const plan = await planUninstall(runner);
  if (args.dryRun) {
    const sets = plan.sets.map((line) => `# ipset: ${line}\n`).join('');
    const nothing = plan.payload === undefined && plan.natPayload === undefined && sets === '';
    io.stdout(nothing ? '# nothing to remove\n' : `${plan.natPayload ?? ''}${plan.payload ?? ''}${sets}`);
    return;
  }
  await applyUninstall(runner, plan);
  const log = jsonLineLog({ service: AGENT_SERVICE, write: (line) => io.stdout(`${line}\n`) });
  log.info(AGENT_UNINSTALLED, {
    chainsDeleted: plan.chains,
    hooksDeleted: plan.hooks,
    proxyRedirectsRemoved: plan.natPayload !== undefined,
    setsDestroyed: plan.sets.length,
    durationMs: Math.round(performance.now() - started),
  });
}
