// What a dry run prints: first, for a person, which containers, apps and spaces would have their
// rules created, changed or removed (lines starting `# `, which iptables-restore ignores and which no
// reader of the payload takes for an edit), and under each source chain the destinations added and
// removed (dry-run-diff.ts); then the ipset lines and the payload, exactly as applied.
// Chains are named by hashes (names.ts), so they are mapped back through the containers file.
import type { PoliciesWithGroups } from '../core/domain/snapshot-groups.js';
import type { Container } from '../core/plan/model.js';
import { appChain, containerChain, groupChain, OWNED_PREFIX, ROOT_CHAIN, spaceChain } from '../core/plan/names.js';
import { allowSourcesOf } from '../core/plan/plan.js';
import {
  type ChainSources,
  type DestinationChange,
  destinationChanges,
  onlyRecordChanges,
  SourceEntries,
} from './dry-run-diff.js';
import type { SyncResult } from './sync.js';
import type { ChainChange } from './table.js';

/** At most this many destination lines under one chain, then `…and N more`. */
export const MAX_DESTINATION_LINES = 20;

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

/** A source chain's (app, space, binding) source key (plan.ts allowSourcesOf), from this run's containers. */
function chainSources(containers: readonly Container[]): Map<string, string> {
  const sources = new Map<string, string>();
  for (const container of containers) {
    for (const { key, chain } of allowSourcesOf(container)) sources.set(chain, key);
  }
  return sources;
}

function destinationLine(change: DestinationChange): string {
  const label = change.label === undefined ? '' : `${change.label}: `;
  return `#   ${change.sign} ${label}${change.services} to ${change.where}\n`;
}

/** The destination lines under one source chain, at most MAX_DESTINATION_LINES. */
function destinationLines(changes: readonly DestinationChange[]): string[] {
  if (changes.length === 0) return ['#   no destination added or removed: the same ones, in other rules\n'];
  const lines = changes.slice(0, MAX_DESTINATION_LINES).map(destinationLine);
  const more = changes.slice(MAX_DESTINATION_LINES);
  if (more.length > 0) {
    const added = more.filter((change) => change.sign === '+').length;
    lines.push(`#   …and ${more.length} more (${added} added, ${more.length - added} removed)\n`);
  }
  return lines;
}

/**
 * The readable account of a dry run: one line per chain touched (the entry chain only when more than
 * its record rule changes), under each source chain its destinations added and removed (when the
 * result carries a preview), the hook and the sets. `previous`: the policies of the cell's last apply,
 * when the caller has them, to name what is removed.
 */
export function describeChanges(
  result: SyncResult,
  containers: readonly Container[],
  previous?: PoliciesWithGroups,
): string {
  if (!result.changed) return '';
  const owners = chainOwners(containers);
  const { preview } = result;
  const sources = preview === undefined ? undefined : chainSources(containers);
  const entries: ChainSources | undefined =
    preview === undefined
      ? undefined
      : {
          now: new SourceEntries(preview.policies),
          ...(previous === undefined ? {} : { previous: new SourceEntries(previous) }),
        };
  const chainLines: string[] = [];
  let recordOnly = false;
  let unnamed = false;
  for (const change of result.chainChanges) {
    if (change.chain === ROOT_CHAIN && preview !== undefined && onlyRecordChanges(preview)) {
      recordOnly = true;
      continue;
    }
    chainLines.push(describeChange(change, owners));
    const key = sources?.get(change.chain);
    if (key !== undefined && preview !== undefined && entries !== undefined) {
      const changes = destinationChanges(change.chain, key, preview, entries);
      if (changes !== undefined) {
        unnamed ||= changes.some((line) => line.sign === '-' && line.label === undefined);
        chainLines.push(...destinationLines(changes));
      }
    }
  }
  const { setsCreated, setsDestroyed } = result.stats;
  const rest = [
    result.hookInserted ? '# insert the jump FORWARD -> dyneg-FORWARD\n' : '',
    setsCreated + setsDestroyed > 0 ? `# ipsets: ${setsCreated} created, ${setsDestroyed} destroyed\n` : '',
  ].join('');
  return [
    '# would change:\n',
    ...chainLines,
    recordOnly && chainLines.length === 0 && rest === ''
      ? `# only the record of the inputs, the first rule of ${ROOT_CHAIN}: the rules allow the same\n`
      : '',
    rest,
    unnamed ? '# (a removed line without a name: the kernel keeps addresses, not names)\n' : '',
    '#\n',
  ].join('');
}

/** The ipset lines (as comments) and the payload; `# no changes` when there is neither. */
export function payloadText(result: SyncResult): string {
  const setLines = [...result.setsBefore, ...result.setsAfter].map((line) => `# ipset: ${line}\n`).join('');
  return `${setLines}${result.payload ?? (setLines === '' ? '# no changes\n' : '')}`;
}

/** Everything `sync --dry-run` prints; `previous` as describeChanges takes it. */
export function describeDryRun(
  result: SyncResult,
  containers: readonly Container[],
  previous?: PoliciesWithGroups,
): string {
  return `${describeChanges(result, containers, previous)}${payloadText(result)}`;
}
