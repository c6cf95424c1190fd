// What a resident planner keeps from one plan to the next (plan.ts, PlanHooks.cache): per source, the
// allow entries it was planned from, their service groups and the allow rules made of them. A source
// whose entries are equal, value for value, to the kept ones reuses its groups; its rules too when
// everything they were made from is unchanged: the set threshold and log group, the cost of a
// reference, and how many groups use each destination of its sets (SharedDestinations.gain).
// Anything else is planned again, so a plan with a cache is the plan without one (tests compare them).
import { isPlain } from '../domain/document-fast-path.js';
import type { AllowEntry, AllowRules, SharedDestinations, SourceGroups } from './allow-rules.js';

interface KeptSource {
  readonly entries: readonly AllowEntry[];
  readonly groups: SourceGroups;
  rules?: {
    readonly made: AllowRules;
    /** What the rules depend on beyond the groups (dependencyOf). */
    readonly dependency: readonly number[];
  };
}

/**
 * Equal JSON-like values: plain objects key by key (same keys), arrays item by item, the rest by ===.
 * Not util.isDeepStrictEqual: that took 46 ms where this takes 8 for the 25,000 destinations of the
 * agent bench's 250 × 100 document.
 */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let index = 0; index < a.length; index += 1) if (!sameValue(a[index], b[index])) return false;
    return true;
  }
  if (!isPlain(a) || !isPlain(b)) return false;
  let keys = 0;
  for (const key in a) {
    if (!Object.hasOwn(b, key) || !sameValue(a[key], b[key])) return false;
    keys += 1;
  }
  for (const _ in b) keys -= 1;
  return keys === 0;
}

function sameEntries(a: readonly AllowEntry[], b: readonly AllowEntry[]): boolean {
  if (a.length !== b.length) return false;
  for (let index = 0; index < a.length; index += 1) {
    const left = a[index];
    const right = b[index];
    if (left === undefined || right === undefined || left.id !== right.id) return false;
    if (!sameValue(left.destination, right.destination)) return false;
  }
  return true;
}

export class PlanCache {
  private settings: string | undefined;
  private kept = new Map<string, KeptSource>();
  private next = new Map<string, KeptSource>();

  /** Starts a plan with these settings; different settings drop everything kept. */
  begin(setThreshold: number, logGroup: number): void {
    const settings = `${setThreshold} ${logGroup}`;
    if (settings !== this.settings) this.kept.clear();
    this.settings = settings;
    this.next = new Map();
  }

  /** The source's groups: kept ones if its entries are unchanged, else made by `group`. */
  groups(key: string, entries: readonly AllowEntry[], group: () => SourceGroups): SourceGroups {
    const kept = this.kept.get(key);
    if (kept !== undefined && sameEntries(kept.entries, entries)) {
      this.next.set(key, kept);
      return kept.groups;
    }
    const made: KeptSource = { entries, groups: group() };
    this.next.set(key, made);
    return made.groups;
  }

  /** The source's allow rules: kept ones if nothing they depend on changed, else made by `make`. */
  rules(key: string, shared: SharedDestinations, make: () => AllowRules): AllowRules {
    const source = this.next.get(key);
    if (source === undefined) return make();
    const dependency = dependencyOf(shared, source.groups);
    const kept = source.rules;
    if (kept !== undefined && sameValue(kept.dependency, dependency)) return kept.made;
    const made = make();
    source.rules = { made, dependency };
    return made;
  }

  /** Ends the plan: what it used is what is kept (sources no longer planned are dropped). */
  end(): void {
    this.kept = this.next;
    this.next = new Map();
  }
}

/** The reference cost, then the uses of every destination of the groups with sets, in order. */
function dependencyOf(shared: SharedDestinations, source: SourceGroups): number[] {
  const numbers = [shared.referenceCost];
  for (const group of source.withSets) {
    for (const destination of group.destinations) numbers.push(shared.of(destination).uses);
  }
  return numbers;
}
