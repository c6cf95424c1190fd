// The kernel remembers what it was last given. The root chain's first rule carries a comment with
// three digests: of the inputs the plan was computed from (policies, containers, options, plan
// layout), of the root chain's other rules, and of the owned sets' names and sizes. A sync whose
// inputs have the recorded digest checks those two cheaply (three short reads, no full read-back)
// and stops there: no parse, no plan, no diff. See docs/agent.md, "Fast syncs".
import { createHash } from 'node:crypto';
import type { Container } from '../core/plan/model.js';
import { HOOK_CHAIN, isHostSet, isPlanSet, OWNED_PREFIX, ROOT_CHAIN } from '../core/plan/names.js';
import { ApplyError, firstLine } from './errors.js';
import type { CommandRunner } from './runner.js';
import { forwardState, ruleId } from './table.js';

/**
 * Comment text of the record rule: `dyneg-record:<input>.<root>.<sets>.<chains>.<rules>.<set count>`,
 * three digests of 16 hex digits, then the plan's size (what a sync that stops early reports).
 */
export const RECORD_PREFIX = `${OWNED_PREFIX}record:`;
const RECORD = new RegExp(
  `--comment "?${RECORD_PREFIX}([0-9a-f]{16})\\.([0-9a-f]{16})\\.([0-9a-f]{16})\\.(\\d{1,9})\\.(\\d{1,9})\\.(\\d{1,9})"?`,
);

/**
 * Bump when `planRules` or `render` would turn the same inputs into different rules: the digest of
 * unchanged inputs must then stop matching, so that an upgraded agent rewrites what an older one
 * left. test/agent/applied-record.test.ts pins a plan's rendering and fails until this is bumped.
 */
export const PLAN_LAYOUT = 11;

export interface AppliedRecord {
  readonly input: string;
  readonly root: string;
  readonly sets: string;
  /** The applied plan's size, the record rule included. */
  readonly size: PlanSize;
}

export interface PlanSize {
  readonly chains: number;
  readonly rules: number;
  readonly sets: number;
}

const digest = (parts: readonly string[]): string => {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part).update('\u0000');
  return hash.digest('hex').slice(0, 16);
};

/** sha256 of a text, for the policies part of an input digest. */
export function textDigest(text: string | Buffer): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * Digest of everything a plan is computed from. `policies` is a digest of the policies document
 * (its text, or the snapshot's checksum); the containers are few and already parsed.
 */
export function inputDigest(input: {
  readonly policies: string;
  readonly containers: readonly Container[];
  readonly options: Readonly<Record<string, unknown>>;
}): string {
  const options = Object.keys(input.options)
    .sort()
    .map((key) => [key, input.options[key]]);
  const containers = input.containers
    .map((c) => JSON.stringify([c.ip, c.appId, c.spaceId, c.orgId ?? null, c.lifecycle]))
    .sort();
  return digest([`layout ${PLAN_LAYOUT}`, JSON.stringify(options), input.policies, ...containers]);
}

/** Digest of the root chain's rules (their ids, in order), the record rule left out. */
export const rootDigest = (ruleIds: readonly (string | null)[]): string =>
  digest(ruleIds.map((id) => id ?? 'untagged'));

/** Digest of the owned sets' names and member counts. */
export function setsDigest(sets: ReadonlyMap<string, number>): string {
  return digest([...sets.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([name, size]) => `${name} ${size}`));
}

export const formatRecord = (record: AppliedRecord): string =>
  `${RECORD_PREFIX}${record.input}.${record.root}.${record.sets}.${record.size.chains}.${record.size.rules}.${record.size.sets}`;

/** What the three short reads found. */
export interface KernelSummary {
  readonly hooked: boolean;
  /** FORWARD's rules that jump to the root chain, and all of them, as saved (KernelTable). */
  readonly hookRules: readonly string[];
  readonly forwardRules: readonly string[];
  /** The root chain's rule ids, the record's included, as a full read gives them (KernelTable.chains). */
  readonly rootChain: readonly (string | null)[] | undefined;
  readonly record: AppliedRecord | undefined;
  /** Ids of the root chain's rules other than the record. */
  readonly rootRuleIds: readonly (string | null)[];
  /** Owned sets and their member counts. */
  readonly setSizes: ReadonlyMap<string, number>;
  /** The host-name sets present (SetHeaders). */
  readonly hostSets: readonly string[];
}

/**
 * `iptables -S <root>` lines → the record, the other rules' ids, and every rule's id in order (the
 * record's included, as parseSave gives the chain from a full read).
 */
export function parseRootChain(text: string): Pick<KernelSummary, 'record' | 'rootRuleIds'> & {
  readonly rootChain: (string | null)[];
} {
  let record: AppliedRecord | undefined;
  const rootRuleIds: (string | null)[] = [];
  const rootChain: (string | null)[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith(`-A ${ROOT_CHAIN} `)) continue;
    const id = ruleId(line);
    rootChain.push(id);
    const found = RECORD.exec(line);
    if (found !== null && record === undefined) {
      const [, input = '', root = '', sets = '', chains, rules, setCount] = found;
      record = { input, root, sets, size: { chains: Number(chains), rules: Number(rules), sets: Number(setCount) } };
      continue;
    }
    rootRuleIds.push(id);
  }
  return { record, rootRuleIds, rootChain };
}

/** What `ipset list -t` (headers only) shows: the sync's sets with their member counts, and the host-name sets. */
export interface SetHeaders {
  /** The sync's sets (isPlanSet) and their member counts. */
  readonly sizes: ReadonlyMap<string, number>;
  /** Host-name sets and their scratch sets (isHostSet), which the sync only creates and destroys. */
  readonly hostSets: readonly string[];
}

/** `ipset list -t` output → the sync's sets with their member counts, and the host-name sets. */
export function parseSetHeaders(text: string): SetHeaders {
  const sizes = new Map<string, number>();
  const hostSets: string[] = [];
  let current: string | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('Name: ')) {
      const name = line.slice('Name: '.length).trim();
      current = isPlanSet(name) ? name : undefined;
      if (current !== undefined) sizes.set(current, 0);
      else if (isHostSet(name)) hostSets.push(name);
    } else if (current !== undefined && line.startsWith('Number of entries: ')) {
      sizes.set(current, Number(line.slice('Number of entries: '.length).trim()));
    }
  }
  return { sizes, hostSets };
}

/** Owned sets' headers; no ipset binary means no sets. */
export async function readSetHeaders(runner: CommandRunner): Promise<SetHeaders> {
  const result = await runner('ipset', ['list', '-t']);
  if (result.code === 0) return parseSetHeaders(result.stdout);
  if (result.code === 127) return { sizes: new Map(), hostSets: [] };
  throw new ApplyError(
    `cannot read ipsets: ipset list exited with ${result.code}: ${firstLine(result.stderr)}`,
    'ipset',
    result.stderr,
  );
}

/**
 * The hook, the root chain and the set sizes: three short reads, whatever the owned chains hold (they
 * grow slowly with the ruleset: 29 ms at 250 × 100, about 120 ms at 1,000 × 200 on the bench's VM).
 */
export async function readKernelSummary(runner: CommandRunner): Promise<KernelSummary> {
  const [hook, root, sets] = await Promise.all([
    runner('iptables', ['-w', '-S', HOOK_CHAIN]),
    runner('iptables', ['-w', '-S', ROOT_CHAIN]),
    readSetHeaders(runner),
  ]);
  if (hook.code !== 0) {
    throw new ApplyError(
      `cannot read the ${HOOK_CHAIN} chain: iptables exited with ${hook.code}: ${firstLine(hook.stderr)}`,
      'iptables',
      hook.stderr,
    );
  }
  // Not only present: first. A rule above it (an ACCEPT another writer inserted) would let traffic
  // out past every policy, so the record does not hold then and the sync moves the hook back up.
  const forward = forwardState(hook.stdout.split('\n').filter((line) => line.startsWith(`-A ${HOOK_CHAIN} `)));
  // A missing root chain (exit 1) is a kernel with nothing of ours: no record.
  const parsed =
    root.code === 0 ? parseRootChain(root.stdout) : { record: undefined, rootRuleIds: [], rootChain: undefined };
  return { ...forward, ...parsed, setSizes: sets.sizes, hostSets: sets.hostSets };
}

/**
 * The input digest of the kernel's record, from a read of the root chain; undefined when the kernel
 * has none (no root chain: a booted kernel; or a chain without a record: the boot guard's). Throws
 * when the chain cannot be read.
 */
export async function readRecordInput(runner: CommandRunner): Promise<string | undefined> {
  const root = await runner('iptables', ['-w', '-S', ROOT_CHAIN]);
  if (root.code === 0) return parseRootChain(root.stdout).record?.input;
  // Exit 1 is a missing chain (iptables-nft calls it "incompatible", iptables-legacy "No chain…"),
  // but also a chain nft cannot show, a kernel without nf_tables, a failed listing: the whole table,
  // read without error and without the chain, tells the first apart.
  const table = root.code === 1 ? await runner('iptables', ['-w', '-S']) : undefined;
  if (table?.code === 0 && !table.stdout.split('\n').includes(`-N ${ROOT_CHAIN}`)) return undefined;
  throw new ApplyError(
    `cannot read the ${ROOT_CHAIN} chain: iptables exited with ${root.code}: ${firstLine(root.stderr)}`,
    'iptables',
    root.stderr,
  );
}

/** True when the kernel still holds what was applied for `input`, as far as the cheap reads can tell. */
export function recordHolds(summary: KernelSummary, input: string): boolean {
  const record = summary.record;
  return (
    summary.hooked &&
    record !== undefined &&
    record.input === input &&
    record.root === rootDigest(summary.rootRuleIds) &&
    record.sets === setsDigest(summary.setSizes)
  );
}
