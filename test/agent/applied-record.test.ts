import { describe, expect, it } from 'vitest';
import {
  formatRecord,
  inputDigest,
  type KernelSummary,
  parseRootChain,
  parseSetHeaders,
  recordHolds,
  rootDigest,
  setsDigest,
} from '../../agent/applied-record.js';
import type { Container } from '../../agent/model.js';

const first: Container = { ip: '10.255.1.2', appId: 'app-a', spaceId: 'space-1' };
const second: Container = { ip: '10.255.1.3', appId: 'app-b', spaceId: 'space-1' };
const containers = [first, second];
const input = { policies: 'abc', containers, options: { overlayCidr: '10.255.0.0/16', unknownSources: 'reject' } };

describe('inputDigest', () => {
  it('changes with the policies, any container field and any option, not with the containers order', () => {
    const base = inputDigest(input);
    expect(base).toMatch(/^[0-9a-f]{16}$/);
    expect(inputDigest({ ...input, containers: [...containers].reverse() })).toBe(base);
    expect(inputDigest({ ...input, options: { unknownSources: 'reject', overlayCidr: '10.255.0.0/16' } })).toBe(base);
    const variants = [
      { ...input, policies: 'abd' },
      { ...input, containers: [first] },
      { ...input, containers: [{ ...first, ip: '10.255.1.9' }, second] },
      { ...input, containers: [{ ...first, appId: 'app-z' }, second] },
      { ...input, containers: [{ ...first, spaceId: 'space-z' }, second] },
      { ...input, options: { ...input.options, unknownSources: 'allow' } },
      { ...input, options: { ...input.options, setThreshold: 8 } },
    ];
    const digests = variants.map((variant) => inputDigest(variant));
    expect(new Set([base, ...digests]).size).toBe(variants.length + 1);
  });
});

const record = {
  input: 'a'.repeat(16),
  root: 'b'.repeat(16),
  sets: 'c'.repeat(16),
  size: { chains: 3, rules: 12, sets: 1 },
};

describe('the record rule', () => {
  it('reads back what it wrote, and the ids of the other root rules in order', () => {
    const saved = [
      '-N dyneg-FORWARD',
      `-A dyneg-FORWARD -m comment --comment "dyneg:0000000000000001" -m comment --comment "${formatRecord(record)}"`,
      '-A dyneg-FORWARD -d 10.255.0.0/16 -m comment --comment "dyneg:00000000000000aa" -j RETURN',
      '-A dyneg-FORWARD -s 10.255.1.0/24 -m comment --comment dyneg:00000000000000bb -j dyneg-d-1',
      '-A dyneg-FORWARD -s 10.9.9.9/32 -j ACCEPT',
    ].join('\n');
    expect(parseRootChain(saved)).toEqual({
      record,
      rootRuleIds: ['00000000000000aa', '00000000000000bb', null],
    });
  });

  it('is absent from a root chain without one, and a malformed record is not taken for one', () => {
    expect(parseRootChain('-A dyneg-FORWARD -m comment --comment "dyneg:0a" -j RETURN').record).toBeUndefined();
    const short = `-A dyneg-FORWARD -m comment --comment "dyneg-record:${'a'.repeat(15)}.${'b'.repeat(16)}.${'c'.repeat(16)}.1.2.3"`;
    expect(parseRootChain(short).record).toBeUndefined();
  });
});

describe('parseSetHeaders', () => {
  it('keeps owned sets with their sizes', () => {
    const text = [
      'Name: dyneg-n-1',
      'Type: hash:net',
      'Header: family inet hashsize 1024 maxelem 65536',
      'Number of entries: 12',
      'Members:',
      '',
      'Name: operator-set',
      'Number of entries: 4',
      '',
      'Name: dyneg-n-2',
      'Number of entries: 0',
    ].join('\n');
    expect([...parseSetHeaders(text)]).toEqual([
      ['dyneg-n-1', 12],
      ['dyneg-n-2', 0],
    ]);
  });
});

describe('recordHolds', () => {
  const rootRuleIds = ['00000000000000aa', '00000000000000bb'];
  const setSizes = new Map([['dyneg-n-1', 12]]);
  const holding: KernelSummary = {
    hooked: true,
    record: { ...record, root: rootDigest(rootRuleIds), sets: setsDigest(setSizes) },
    rootRuleIds,
    setSizes,
  };

  it('holds when the hook, the input, the root rules and the set sizes all match', () => {
    expect(recordHolds(holding, record.input)).toBe(true);
  });

  it.each([
    ['another input', holding, 'd'.repeat(16)],
    ['no hook', { ...holding, hooked: false }, record.input],
    ['no record', { ...holding, record: undefined }, record.input],
    ['a root rule missing', { ...holding, rootRuleIds: rootRuleIds.slice(1) }, record.input],
    ['root rules reordered', { ...holding, rootRuleIds: [...rootRuleIds].reverse() }, record.input],
    ['a set of another size', { ...holding, setSizes: new Map([['dyneg-n-1', 11]]) }, record.input],
    ['an extra set', { ...holding, setSizes: new Map([...setSizes, ['dyneg-n-2', 1]]) }, record.input],
  ])('does not hold with %s', (_case, summary, digest) => {
    expect(recordHolds(summary, digest)).toBe(false);
  });
});
