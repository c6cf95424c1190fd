// What a dry run prints: first, for a person, which containers, apps and spaces would have their
// rules created, changed or removed (lines starting `# `, which iptables-restore ignores and which no
// reader of the payload takes for an edit); then the ipset lines and the payload, exactly as applied.
// Chains are named by hashes (names.ts), so they are mapped back through the containers file.
import type { Container } from '../core/plan/model.js';
import { appChain, containerChain, groupChain, OWNED_PREFIX, ROOT_CHAIN, spaceChain } from '../core/plan/names.js';
import type { SyncResult } from './sync.js';
import type { ChainChange } from './table.js';

/** Owned chain → who it is for, from the containers of this run. */
function chainOwners(containers: readonly Container[]): Map<string, string> {
  const owners = new Map<string, string>([[ROOT_CHAIN, 'entry chain (every overlay source)']]);
  for (const container of containers) {
    owners.set(
      containerChain(container.ip),
      `container ${container.ip} (app ${container.appId}, space ${container.spaceId}${container.orgId === undefined ? '' : `, organization ${container.orgId}`}, ${container.lifecycle})`,
    );
    owners.set(appChain(container.appId), `app ${container.appId} (allow list)`);
    owners.set(spaceChain(container.spaceId), `space ${container.spaceId} (allow list)`);
    const { lifecycle } = container;
    owners.set(groupChain('global', lifecycle, ''), `security groups, global ${lifecycle}`);
    owners.set(
      groupChain('app', lifecycle, container.appId),
      `egress policies for ${lifecycle}, app ${container.appId}`,
    );
    owners.set(
      groupChain('space', lifecycle, container.spaceId),
      `security groups, space ${container.spaceId} ${lifecycle}`,
    );
    if (container.orgId !== undefined) {
      owners.set(
        groupChain('organization', lifecycle, container.orgId),
        `security groups, organization ${container.orgId} ${lifecycle}`,
      );
    }
  }
  return owners;
}

function describeChange(change: ChainChange, owners: ReadonlyMap<string, string>): string {
  const owner =
    owners.get(change.chain) ??
    (change.action === 'deleted'
      ? 'no longer on this cell'
      : change.chain.startsWith(`${OWNED_PREFIX}d-`)
        ? 'dispatch by source address'
        : 'other');
  const counts = [
    change.rulesWritten > 0 ? `${change.rulesWritten} rules written` : '',
    change.rulesDeleted > 0 ? `${change.rulesDeleted} rules deleted` : '',
  ].filter((part) => part !== '');
  return `# ${change.action} ${change.chain}: ${owner}${counts.length > 0 ? `; ${counts.join(', ')}` : ''}\n`;
}

/** The readable account of a dry run: one line per chain touched, the hook and the sets. */
export function describeChanges(result: SyncResult, containers: readonly Container[]): string {
  if (!result.changed) return '';
  const owners = chainOwners(containers);
  const { setsCreated, setsDestroyed } = result.stats;
  return [
    '# would change:\n',
    ...result.chainChanges.map((change) => describeChange(change, owners)),
    result.hookInserted ? '# insert the jump FORWARD -> dyneg-FORWARD\n' : '',
    setsCreated + setsDestroyed > 0 ? `# ipsets: ${setsCreated} created, ${setsDestroyed} destroyed\n` : '',
    '#\n',
  ].join('');
}

/** The ipset lines (as comments) and the payload; `# no changes` when there is neither. */
export function payloadText(result: SyncResult): string {
  const setLines = [...result.setsBefore, ...result.setsAfter].map((line) => `# ipset: ${line}\n`).join('');
  return `${setLines}${result.payload ?? (setLines === '' ? '# no changes\n' : '')}`;
}

/** Everything `sync --dry-run` prints. */
export function describeDryRun(result: SyncResult, containers: readonly Container[]): string {
  return `${describeChanges(result, containers)}${payloadText(result)}`;
}
