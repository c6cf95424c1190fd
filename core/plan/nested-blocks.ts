// A set of addresses as the fewest hash:net entries, when an entry may also be a `nomatch` block.
// The kernel decides an address by the most specific entry holding it: a plain entry matches, a nomatch
// one does not, and no entry does not. So 10.0.0.1-10.0.0.254 is 10.0.0.0/24 less two nomatch /32s (3
// entries) instead of 14 exact blocks. Within a set of many ranges the holes are what is cheap to name.
//
// Optimal by dynamic programming over the binary tree of blocks (the two-colour case of Draves et al.,
// "Constructing Optimal IP Routing Tables", 1999): for every block that is neither wholly inside nor
// wholly outside the set, the fewest entries below it given what its enclosing entry says. Only those
// blocks are visited, and a run of levels with one half wholly outside is one step (a chain).
import { numberToIpv4 } from '../domain/ipv4.js';
import { mergeSpans, type Span } from './cidr.js';

/** hash:net entries: `members` match; `nomatch` blocks, each inside a member, carve holes out of them. */
export interface NestedBlocks {
  readonly members: string[];
  readonly nomatch: string[];
}

/**
 * One block of the tree: the fewest entries at or below it when the enclosing entry says out / in.
 * Its address is not kept: emit works it out on the way down, so uniform blocks can be shared.
 */
interface Node {
  readonly ifOut: number;
  readonly ifIn: number;
  /** Both undefined for a uniform block (wholly in or out); for a chain, `lower` is the hull. */
  readonly lower: Node | undefined;
  readonly upper: Node | undefined;
  /** For a uniform block: whether it is inside the set. */
  readonly inside: boolean;
  /**
   * A chain: this block holds the set's addresses only inside one block `chain` levels below it (the
   * hull, at `hullBase`), so every level between has one half wholly outside. Scattered addresses
   * would otherwise cost a node per level each; a chain costs one. 0 for any other block.
   */
  readonly chain: number;
  readonly hullBase: number;
}

const OUTSIDE: Node = { ifOut: 0, ifIn: 1, lower: undefined, upper: undefined, inside: false, chain: 0, hullBase: 0 };
const INSIDE: Node = { ifOut: 1, ifIn: 0, lower: undefined, upper: undefined, inside: true, chain: 0, hullBase: 0 };
const HALF_SPACE = 2 ** 31;
/** Addresses in a block of each prefix length (a table: `2 **` in the recursion costs more). */
const BLOCK_SIZE = Array.from({ length: 33 }, (_, prefix) => 2 ** (32 - prefix));

/**
 * The spans' addresses as nested blocks: the fewest entries, and among as few, no nomatch block unless
 * it saves one (a range that is one exact block stays that block). /0 is never an entry (ipset rejects
 * it): the tree starts at the two /1s, as the exact blocks did.
 */
export function nestedBlocks(spans: readonly Span[]): NestedBlocks {
  const merged = mergeSpans(spans);
  const out: NestedBlocks = { members: [], nomatch: [] };
  const [lower, upper] = halves(merged);
  // Written parent before child, lower half first: each list comes out in address order.
  emit(lower, 0, 1, false, out);
  emit(upper, HALF_SPACE, 1, false, out);
  return out;
}

/** How many entries nestedBlocks writes for the spans, without writing them. */
export function nestedBlockCount(spans: readonly Span[]): number {
  const [lower, upper] = halves(mergeSpans(spans));
  return lower.ifOut + upper.ifOut;
}

/** The trees of the two /1 blocks, each given the merged spans that overlap it. */
function halves(merged: readonly Span[]): [Node, Node] {
  const split = firstFrom(merged, 0, merged.length, HALF_SPACE);
  const upper = upperFrom(merged, 0, split, HALF_SPACE);
  return [build(merged, 0, 1, 0, split), build(merged, HALF_SPACE, 1, upper, merged.length)];
}

/** The first of `spans[lo..hi)` that starts at or above `middle` (hi when none does). */
function firstFrom(spans: readonly Span[], lo: number, hi: number, middle: number): number {
  let split = lo;
  while (split < hi && (spans[split]?.first ?? 0) < middle) split += 1;
  return split;
}

/** Where the spans overlapping the upper half start: `split`, or the span before it if it reaches `middle`. */
function upperFrom(spans: readonly Span[], lo: number, split: number, middle: number): number {
  return split > lo && (spans[split - 1]?.last ?? 0) >= middle ? split - 1 : split;
}

/**
 * The block `base/prefix`; `spans[lo..hi)` are the sorted, disjoint, non-touching spans that overlap it
 * (merged spans never touch, so a block one span covers is wholly inside and one none overlaps is out).
 */
function build(spans: readonly Span[], base: number, prefix: number, lo: number, hi: number): Node {
  if (lo === hi) return OUTSIDE;
  const size = BLOCK_SIZE[prefix] ?? 1;
  const only = spans[lo];
  if (hi - lo === 1 && only !== undefined && only.first <= base && only.last >= base + size - 1) return INSIDE;
  // Unreachable for spans that keep the invariant: a /32 is wholly in one span or in none.
  if (prefix === 32) throw new Error(`spans overlapping ${base}/32 are not merged and sorted`);
  const hullPrefix = commonPrefix(
    Math.max(only?.first ?? base, base),
    Math.min(spans[hi - 1]?.last ?? base, base + size - 1),
  );
  if (hullPrefix > prefix) return chain(spans, base, prefix, hullPrefix, lo, hi);
  const middle = base + size / 2;
  // Spans starting below the middle overlap the lower half; the last of them may reach the upper.
  const split = firstFrom(spans, lo, hi, middle);
  const lower = build(spans, base, prefix + 1, lo, split);
  const upper = build(spans, middle, prefix + 1, upperFrom(spans, lo, split, middle), hi);
  return {
    // Keep what the enclosing entry says, or flip it with an entry here; keeping wins a tie.
    ifOut: Math.min(lower.ifOut + upper.ifOut, 1 + lower.ifIn + upper.ifIn),
    ifIn: Math.min(lower.ifIn + upper.ifIn, 1 + lower.ifOut + upper.ifOut),
    lower,
    upper,
    inside: false,
    chain: 0,
    hullBase: 0,
  };
}

/** How many leading bits two addresses share (32 when equal). */
function commonPrefix(a: number, b: number): number {
  return Math.clz32((a ^ b) >>> 0);
}

/**
 * The block `base/prefix` whose addresses of the set all lie in its sub-block of `hullPrefix` bits.
 * Going up one level from a block with costs (out O, in I) beside a wholly outside half gives
 * (O, 1 + min(I, O)): under an out entry nothing more is needed, under an in entry either a hole for
 * the outside half or one for the whole block. After two levels that is (O, 1 + O), and it stays so.
 */
function chain(spans: readonly Span[], base: number, prefix: number, hullPrefix: number, lo: number, hi: number): Node {
  const hullSize = BLOCK_SIZE[hullPrefix] ?? 1;
  const hullBase = Math.floor(Math.max(spans[lo]?.first ?? base, base) / hullSize) * hullSize;
  const hull = build(spans, hullBase, hullPrefix, lo, hi);
  const levels = hullPrefix - prefix;
  return {
    ifOut: hull.ifOut,
    ifIn: chainIfIn(hull, levels),
    lower: hull,
    upper: undefined,
    inside: false,
    chain: levels,
    hullBase,
  };
}

/** A chain's cost under an in entry, `levels` above its hull (0: the hull's own). */
function chainIfIn(hull: Node, levels: number): number {
  if (levels === 0) return hull.ifIn;
  return levels === 1 ? 1 + Math.min(hull.ifIn, hull.ifOut) : 1 + hull.ifOut;
}

/**
 * Writes the entries of the cheapest choice for `node`, the block `base/prefix`, under an enclosing
 * entry that says `enclosingIn`.
 */
function emit(node: Node, base: number, prefix: number, enclosingIn: boolean, out: NestedBlocks): void {
  if (node.chain > 0) {
    emitChain(node, base, prefix, enclosingIn, out);
    return;
  }
  const { lower, upper } = node;
  if (lower === undefined || upper === undefined) {
    if (node.inside !== enclosingIn) (node.inside ? out.members : out.nomatch).push(blockText(base, prefix));
    return;
  }
  const keep = enclosingIn ? lower.ifIn + upper.ifIn : lower.ifOut + upper.ifOut;
  const flip = 1 + (enclosingIn ? lower.ifOut + upper.ifOut : lower.ifIn + upper.ifIn);
  let here = enclosingIn;
  if (flip < keep) {
    here = !enclosingIn;
    (here ? out.members : out.nomatch).push(blockText(base, prefix));
  }
  emit(lower, base, prefix + 1, here, out);
  emit(upper, base + (BLOCK_SIZE[prefix + 1] ?? 1), prefix + 1, here, out);
}

/**
 * A chain level by level, as the tree without it would choose: under an out entry nothing until the
 * hull; under an in entry, at each level either a hole for the outside half (and go on in) or a hole
 * for the whole block (and go on out), whichever is fewer, keeping on a tie. Holes above the hull's
 * addresses are written after the hull's entries, so that the list stays in address order.
 */
function emitChain(node: Node, base: number, prefix: number, enclosingIn: boolean, out: NestedBlocks): void {
  const hull = node.lower;
  if (hull === undefined) throw new Error('a chain without its hull');
  const hullPrefix = prefix + node.chain;
  let levelBase = base;
  let inside = enclosingIn;
  const holesAbove: string[] = [];
  for (let level = prefix; inside && level < hullPrefix; level += 1) {
    const keep = chainIfIn(hull, hullPrefix - level - 1) + 1;
    const flip = 1 + hull.ifOut;
    if (flip < keep) {
      out.nomatch.push(blockText(levelBase, level));
      inside = false;
      break;
    }
    const half = BLOCK_SIZE[level + 1] ?? 1;
    if (node.hullBase >= levelBase + half) {
      out.nomatch.push(blockText(levelBase, level + 1));
      levelBase += half;
    } else {
      holesAbove.push(blockText(levelBase + half, level + 1));
    }
  }
  emit(hull, node.hullBase, hullPrefix, inside, out);
  for (let index = holesAbove.length - 1; index >= 0; index -= 1) out.nomatch.push(holesAbove[index] ?? '');
}

function blockText(base: number, prefix: number): string {
  return `${numberToIpv4(base)}/${prefix}`;
}
