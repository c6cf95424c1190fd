// Owns the agent's chains in the filter table: reads back what the kernel has (iptables-save), diffs
// against the desired chains by rule id, and writes only the difference in ONE
// `iptables-restore -w --noflush` transaction. Nothing outside the owned prefix is ever written,
// except the single jump FORWARD → dyneg-FORWARD, kept FORWARD's first rule: inserted when missing,
// moved back to the top when another writer put a rule above it (an ACCEPT there would let traffic
// out past every policy).

import type { Chain } from '../core/plan/model.js';
import { COMMENT_PREFIX, HOOK_CHAIN, isOwned, ROOT_CHAIN } from '../core/plan/names.js';
import { ApplyError, firstLine } from './errors.js';
import { type RenderedRule, renderChain } from './render.js';
import type { CommandRunner } from './runner.js';

/** What the kernel holds of ours: per owned chain, the id of each rule (null when untagged). */
export interface KernelTable {
  readonly chains: ReadonlyMap<string, readonly (string | null)[]>;
  /** Whether FORWARD's first rule jumps to the root chain. */
  readonly hooked: boolean;
  /** FORWARD's rules that jump to the root chain, as saved (`-A FORWARD …`), wherever they are. */
  readonly hookRules: readonly string[];
  /** All of FORWARD's rules, as saved, in order (uninstall takes every jump into an owned chain). */
  readonly forwardRules: readonly string[];
  /**
   * The chains whose rules are a resident agent's memory, not a read (remembered-table.ts): the diff
   * rewrites one that differs whole, after `-F`, since the kernel may hold other rules than remembered
   * (and a chain that is gone then fails the transaction instead of being edited blind).
   */
  readonly remembered?: ReadonlySet<string>;
  /**
   * The owned chains' rules as saved (`-A <chain> …` lines), when the read was asked to keep them:
   * only a dry run, whose readable account says what they allowed (dry-run-diff.ts).
   */
  readonly saved?: ReadonlyMap<string, readonly string[]>;
}

const COMMENT = new RegExp(`--comment "?${COMMENT_PREFIX}([0-9a-f]+)"?`);

/**
 * A saved rule's words: iptables-save quotes a value with spaces ("…", with \" and \\ inside);
 * a quoted word is one word, whatever it reads like.
 */
export function savedWords(line: string): { readonly text: string; readonly quoted: boolean }[] {
  const words: { text: string; quoted: boolean }[] = [];
  let index = 0;
  while (index < line.length) {
    if (line[index] === ' ') {
      index += 1;
      continue;
    }
    if (line[index] === '"') {
      let text = '';
      index += 1;
      while (index < line.length && line[index] !== '"') {
        if (line[index] === '\\' && index + 1 < line.length) index += 1;
        text += line[index];
        index += 1;
      }
      words.push({ text, quoted: true });
      index += 1;
      continue;
    }
    const end = line.indexOf(' ', index);
    const stop = end === -1 ? line.length : end;
    words.push({ text: line.slice(index, stop), quoted: false });
    index = stop;
  }
  return words;
}

/** Options whose value is free text (a comment, a log prefix): never read as part of the rule. */
const FREE_TEXT_OPTIONS = new Set(['--comment', '--log-prefix', '--nflog-prefix']);

/**
 * The chain a saved rule jumps or goes to: the word after its first unquoted `-j`/`-g`. Free text is
 * skipped, quoted or not (an operator's comment or log prefix may read "-j dyneg-FORWARD"); the
 * target's own options come after the target.
 */
export function ruleTarget(line: string): string | undefined {
  const words = savedWords(line);
  for (let index = 0; index < words.length - 1; index += 1) {
    const word = words[index];
    if (word === undefined || word.quoted) continue;
    if (FREE_TEXT_OPTIONS.has(word.text)) {
      index += 1;
      continue;
    }
    if (word.text === '-j' || word.text === '-g') return words[index + 1]?.text;
  }
  return undefined;
}

/** Whether FORWARD's first rule in `rules` (`-A FORWARD …` lines, in order) jumps to the root chain. */
export function hookedFirst(rules: readonly string[]): boolean {
  const [first] = rules;
  return first !== undefined && ruleTarget(first) === ROOT_CHAIN;
}

/** FORWARD's rules as saved, in order → whether the hook is first, the hooks, and all of them. */
export function forwardState(forward: readonly string[]): Pick<KernelTable, 'hooked' | 'hookRules' | 'forwardRules'> {
  return {
    hooked: hookedFirst(forward),
    hookRules: forward.filter((line) => ruleTarget(line) === ROOT_CHAIN),
    forwardRules: forward,
  };
}

/** A saved or listed rule's id (the comment tag), or null for an untagged rule. */
export const ruleId = (line: string): string | null => COMMENT.exec(line)?.[1] ?? null;

/** What a read of the filter table keeps besides the rule ids. */
export interface ReadTableOptions {
  /** Keep the owned chains' rules as saved (KernelTable.saved). @default false */
  readonly keepRules?: boolean;
}

/** Parse `iptables-save -t filter` output. Only owned chains and the hook are looked at. */
export function parseSave(text: string, options: ReadTableOptions = {}): KernelTable {
  const chains = new Map<string, (string | null)[]>();
  const saved = options.keepRules === true ? new Map<string, string[]>() : undefined;
  const forward: string[] = [];
  let inFilter = false;
  for (const line of text.split('\n')) {
    if (line.startsWith('*')) {
      inFilter = line === '*filter';
      continue;
    }
    if (!inFilter) continue;
    if (line.startsWith(':')) {
      const name = line.slice(1).split(' ')[0] ?? '';
      if (isOwned(name)) {
        chains.set(name, []);
        saved?.set(name, []);
      }
      continue;
    }
    if (!line.startsWith('-A ')) continue;
    const [, chain = ''] = line.split(' ');
    if (chain === HOOK_CHAIN) {
      forward.push(line);
      continue;
    }
    const rules = chains.get(chain);
    if (rules === undefined) continue;
    rules.push(ruleId(line));
    saved?.get(chain)?.push(line);
  }
  return { chains, ...forwardState(forward), ...(saved === undefined ? {} : { saved }) };
}

export async function readTable(runner: CommandRunner, options: ReadTableOptions = {}): Promise<KernelTable> {
  const result = await runner('iptables-save', ['-t', 'filter']);
  if (result.code !== 0) {
    throw new ApplyError(
      `cannot read the filter table: iptables-save exited with ${result.code}: ${firstLine(result.stderr)}`,
      'iptables-save',
      result.stderr,
    );
  }
  return parseSave(result.stdout, options);
}

/** What a diff does to one owned chain, for a person reading a dry run. */
export interface ChainChange {
  readonly chain: string;
  /** `rewritten`: flushed and refilled; `edited`: some rules replaced, deleted or appended. */
  readonly action: 'created' | 'rewritten' | 'edited' | 'deleted';
  readonly rulesWritten: number;
  readonly rulesDeleted: number;
}

export interface TableDiff {
  /** The iptables-restore payload, or undefined when the kernel already matches. */
  readonly payload: string | undefined;
  readonly chainsCreated: number;
  readonly chainsDeleted: number;
  readonly rulesWritten: number;
  readonly rulesDeleted: number;
  /** Per chain touched, in payload order. */
  readonly chainChanges: readonly ChainChange[];
  readonly hookInserted: boolean;
}

/**
 * The edits turning `kernel` into `desired`. Per chain: rules whose id differs at a position are
 * replaced in place (-R), extra ones deleted from the end (-D), missing ones appended (-A); a chain
 * that differs almost everywhere is rewritten whole, and so is a remembered one that differs at all
 * (KernelTable.remembered). Chains no longer desired are flushed and deleted.
 */
export function diffTable(
  desired: readonly Chain[],
  kernel: KernelTable,
  render: (chain: Chain) => readonly RenderedRule[] = renderChain,
): TableDiff {
  const declare: string[] = [];
  const edits: string[] = [];
  const removals: string[] = [];
  let chainsCreated = 0;
  let chainsDeleted = 0;
  let rulesWritten = 0;
  let rulesDeleted = 0;
  const chainChanges: ChainChange[] = [];

  const wanted = new Set(desired.map((chain) => chain.name));
  for (const chain of desired) {
    const rendered = render(chain);
    const current = kernel.chains.get(chain.name);
    if (current === undefined) {
      declare.push(`:${chain.name} - [0:0]`);
      chainsCreated += 1;
      for (const rule of rendered) edits.push(`-A ${chain.name} ${rule.body}`);
      rulesWritten += rendered.length;
      chainChanges.push({ chain: chain.name, action: 'created', rulesWritten: rendered.length, rulesDeleted: 0 });
      continue;
    }
    const unread = kernel.remembered?.has(chain.name) === true;
    const common = Math.min(current.length, rendered.length);
    const changed: number[] = [];
    for (let index = 0; index < common; index += 1) {
      if (current[index] !== rendered[index]?.id) changed.push(index);
    }
    const unchanged = common - changed.length;
    if (unchanged === current.length && unchanged === rendered.length) continue;
    if (unread || (rendered.length > 4 && unchanged < rendered.length / 4)) {
      // Mostly different: flush (declaring an existing chain under --noflush flushes it) and refill.
      // A remembered chain is flushed by `-F`, which fails when the chain is gone.
      if (unread) edits.push(`-F ${chain.name}`);
      else declare.push(`:${chain.name} - [0:0]`);
      for (const rule of rendered) edits.push(`-A ${chain.name} ${rule.body}`);
      rulesWritten += rendered.length;
      rulesDeleted += current.length;
      chainChanges.push({
        chain: chain.name,
        action: 'rewritten',
        rulesWritten: rendered.length,
        rulesDeleted: current.length,
      });
      continue;
    }
    const extra = Math.max(0, current.length - rendered.length);
    const appended = Math.max(0, rendered.length - current.length);
    chainChanges.push({
      chain: chain.name,
      action: 'edited',
      rulesWritten: changed.length + appended,
      rulesDeleted: extra,
    });
    for (const index of changed) {
      edits.push(`-R ${chain.name} ${index + 1} ${rendered[index]?.body}`);
    }
    rulesWritten += changed.length;
    for (let position = current.length; position > rendered.length; position -= 1) {
      edits.push(`-D ${chain.name} ${position}`);
      rulesDeleted += 1;
    }
    for (const rule of rendered.slice(current.length)) {
      edits.push(`-A ${chain.name} ${rule.body}`);
      rulesWritten += 1;
    }
  }
  if (!kernel.hooked) {
    // Missing, or below another rule: any hook of ours goes (by its text: another writer may insert a
    // FORWARD rule between the read and this transaction, and a position would then name its rule),
    // and one goes in first.
    for (const line of kernel.hookRules) edits.push(line.replace(/^-A /, '-D '));
    edits.push(`-I ${HOOK_CHAIN} 1 -m comment --comment "${COMMENT_PREFIX}hook" -j ${ROOT_CHAIN}`);
  }
  const stale = [...kernel.chains.keys()].filter((name) => !wanted.has(name)).sort();
  for (const name of stale) {
    if (kernel.remembered?.has(name) === true) edits.push(`-F ${name}`);
    else declare.push(`:${name} - [0:0]`);
    removals.push(`-X ${name}`);
    chainsDeleted += 1;
    const count = kernel.chains.get(name)?.length ?? 0;
    rulesDeleted += count;
    chainChanges.push({ chain: name, action: 'deleted', rulesWritten: 0, rulesDeleted: count });
  }
  const body = [...declare, ...edits, ...removals];
  return {
    payload: body.length === 0 ? undefined : ['*filter', ...body, 'COMMIT', ''].join('\n'),
    chainsCreated,
    chainsDeleted,
    rulesWritten,
    rulesDeleted,
    chainChanges,
    hookInserted: !kernel.hooked,
  };
}

/** Apply a payload in one transaction, waiting for the xtables lock. */
export async function applyTable(runner: CommandRunner, payload: string): Promise<void> {
  const result = await runner('iptables-restore', ['-w', '--noflush'], payload);
  if (result.code !== 0) {
    throw new ApplyError(
      `iptables-restore failed (exit ${result.code}), rules unchanged: ${firstLine(result.stderr)}`,
      'iptables-restore',
      result.stderr,
    );
  }
}
