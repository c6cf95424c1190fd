// The fast path may only ever say less than zod: whatever it accepts, zod accepts with an equal
// result. Checked on every single-field mutation of generated documents (seeded, so a failure
// replays), and on the documents the API writes, which the fast path must take (or it is dead code).
import { describe, expect, it } from 'vitest';
import * as z from 'zod/mini';
import {
  fastDestinationDocument,
  fastEgressPolicyList,
  fastSecurityGroupsSection,
} from '../../../core/domain/document-fast-path.js';
import { destinationDocumentSchema, egressPolicyListSchema } from '../../../core/domain/schemas.js';
import { fastSnapshot, snapshotSchema } from '../../../core/domain/snapshot.js';
import { securityGroupsSectionSchema } from '../../../core/domain/snapshot-groups.js';

/** mulberry32: small, seeded, good enough to pick test cases. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

/** Values that sit on or just past some rule's edge, or have the wrong type. */
const TRICKY: Json[] = [
  null,
  true,
  0,
  -1,
  -2,
  1,
  1.5,
  254,
  255,
  256,
  65535,
  65536,
  1e21,
  Number.MAX_SAFE_INTEGER + 2,
  '',
  ' ',
  'x',
  ' x',
  'x ',
  'a\tb',
  'a\nb',
  'a\rb',
  'a\u000bb',
  '\u0000',
  'a\u007f',
  '\u00a0x',
  'x'.repeat(255),
  'x'.repeat(256),
  'y'.repeat(1024),
  'y'.repeat(1025),
  'tcp',
  'udp',
  'icmp',
  'TCP',
  'all',
  'running',
  'staging',
  'app',
  'space',
  'default',
  'org',
  'a b',
  '-abc',
  'z'.repeat(128),
  'z'.repeat(129),
  '10.0.0.1',
  '010.0.0.1',
  '10.0.0.256',
  '10.0.0.0/8',
  '255.255.255.255',
  '0.0.0.0',
  '80',
  [],
  {},
  [{ start: '10.0.0.1', end: '10.0.0.2' }],
  [{ start: '10.0.0.2', end: '10.0.0.1' }],
  [{ start: '10.0.0.1' }],
  [{ start: '10.0.0.1', end: '10.0.0.1', extra: 1 }],
  [
    { start: '10.0.0.1', end: '10.0.0.1' },
    { start: '10.0.0.3', end: '10.0.0.3' },
  ],
  [{ start: 80, end: 80 }],
  [{ start: 90, end: 80 }],
  [{ start: 0, end: 80 }],
  [{ start: 1, end: 65536 }],
  [{ start: 80, end: 80, x: null }],
  [{ end: 80, start: 80 }],
  [
    { start: 1, end: 2 },
    { start: 3, end: 4 },
  ],
  [null],
  ['10.0.0.1'],
  [0],
  [1],
  [-1],
  [0.5],
  [2],
  [3],
  [9],
  ['global', 'running', '', [0]],
  ['space', 'staging', '', [0]],
  ['global', 'running', 'space-1', [0]],
  ['organization', 'all', 'org-1', [0]],
  ['app', 'running', 'app-1', [0], 'extra'],
  'organization',
  'global',
  false,
  // Destinations matched by name (hosts, http, https, routes): the fast path leaves them to zod.
  'http',
  'https',
  ['db.example.com'],
  ['*.example.com'],
  [{ methods: ['GET'], path_regex: '/get' }],
];

function pick<T>(next: () => number, values: readonly T[]): T {
  const value = values[Math.floor(next() * values.length)];
  if (value === undefined) throw new Error('empty choice');
  return value;
}

function destination(next: () => number, index: number): JsonObject {
  const protocol = pick(next, ['tcp', 'udp', 'icmp'] as const);
  const low = Math.floor(next() * 250);
  const ips = [{ start: `10.1.${low}.1`, end: `10.1.${low + Math.floor(next() * 5)}.9` }];
  const base: JsonObject = { id: `dest-${index}`, name: `destination ${index}`, ips, protocol };
  if (next() < 0.3) base.description = next() < 0.5 ? 'line one\nline\ttwo' : 'the database';
  if (protocol === 'icmp') {
    if (next() < 0.5) base.icmp_type = pick(next, [-1, 0, 8, 254]);
    if (base.icmp_type !== undefined && base.icmp_type !== -1 && next() < 0.5) base.icmp_code = pick(next, [0, 255]);
    if (next() < 0.3) base.ports = [];
  } else {
    const port = 1 + Math.floor(next() * 65000);
    base.ports = [{ start: port, end: port + Math.floor(next() * 500) }];
  }
  return base;
}

function policy(next: () => number, index: number): JsonObject {
  const type = pick(next, ['app', 'space', 'default'] as const);
  const document: JsonObject = {
    id: `policy-${index}`,
    source: { type, id: type === 'default' ? '' : `${type}-${Math.floor(next() * 9)}` },
    destination: destination(next, index),
  };
  const lifecycle = pick(next, ['absent', 'all', 'running', 'staging'] as const);
  if (lifecycle !== 'absent') document.app_lifecycle = lifecycle;
  return document;
}

function list(policies: JsonObject[]): JsonObject {
  return { total_egress_policies: policies.length, egress_policies: policies };
}

/** Every object of `value` with the path to it, the root first. */
function objectsOf(value: Json, into: JsonObject[] = []): JsonObject[] {
  if (Array.isArray(value)) for (const item of value) objectsOf(item, into);
  else if (value !== null && typeof value === 'object') {
    into.push(value);
    for (const item of Object.values(value)) objectsOf(item, into);
  }
  return into;
}

const ADDED_KEYS = [
  'extra',
  'icmp_type',
  'icmp_code',
  'ports',
  'description',
  'app_lifecycle',
  'log',
  'hosts',
  'routes',
];

/** Every document one change away: each key of each object set to each tricky value, or deleted. */
function* everySingleChange(document: JsonObject): Generator<JsonObject> {
  const count = objectsOf(document).length;
  for (let index = 0; index < count; index += 1) {
    const keys = Object.keys(objectsOf(document)[index] ?? {});
    for (const key of new Set([...keys, ...ADDED_KEYS])) {
      for (const value of [...TRICKY, undefined]) {
        const copy: JsonObject = structuredClone(document);
        const target = objectsOf(copy)[index];
        if (target === undefined) throw new Error('object vanished');
        if (value === undefined) delete target[key];
        else target[key] = value;
        yield copy;
      }
    }
  }
}

/** One change to one object of a deep copy: a key set to a tricky value, deleted, or added. */
function mutate(next: () => number, document: JsonObject): JsonObject {
  const copy: JsonObject = structuredClone(document);
  const target = pick(next, objectsOf(copy));
  const keys = Object.keys(target);
  const roll = next();
  if (roll < 0.75 && keys.length > 0) target[pick(next, keys)] = pick(next, TRICKY);
  else if (roll < 0.9 && keys.length > 0) delete target[pick(next, keys)];
  else target[pick(next, ADDED_KEYS)] = pick(next, TRICKY);
  return copy;
}

/**
 * 'zod' when `fast` left the document to the schema; 'fast' when it took it, which the test allows only
 * with exactly the schema's result.
 */
function checkAgainstZod(
  fast: (value: unknown) => unknown,
  schema: z.core.$ZodType,
  document: JsonObject,
): 'fast' | 'zod' {
  const result = fast(document);
  if (result === undefined) return 'zod';
  const checked = z.safeParse(schema, document);
  expect(checked.success, JSON.stringify(document)).toBe(true);
  expect(result).toStrictEqual(checked.data);
  return 'fast';
}

const expectNoMoreThanZod = (document: JsonObject) =>
  checkAgainstZod(fastEgressPolicyList, egressPolicyListSchema, document);

/** Every copy of `document` with one position of one tuple of `document[key]` (or the one past its end) set to a tricky value. */
function* everyTupleChange(document: JsonObject, key: string): Generator<JsonObject> {
  const tuples = document[key];
  if (!Array.isArray(tuples)) throw new Error(`the document has no ${key}`);
  for (const [index, tuple] of tuples.entries()) {
    if (!Array.isArray(tuple)) throw new Error(`${key}[${index}] is not a tuple`);
    for (let position = 0; position <= tuple.length; position += 1) {
      for (const value of TRICKY) {
        const copy = structuredClone(document);
        const copies = copy[key];
        const target = Array.isArray(copies) ? copies[index] : undefined;
        if (!Array.isArray(target)) throw new Error(`${key}[${index}] vanished`);
        target[position] = value;
        yield copy;
      }
    }
  }
}

describe('fastEgressPolicyList', () => {
  it('takes every plain document the API writes, with the result zod gives', () => {
    const next = random(1);
    for (let round = 0; round < 200; round += 1) {
      const document = list(Array.from({ length: 1 + Math.floor(next() * 4) }, (_, index) => policy(next, index)));
      expect(expectNoMoreThanZod(document), JSON.stringify(document)).toBe('fast');
    }
  });

  it('accepts no single change that zod refuses, to any key of any object of the document', () => {
    const next = random(6);
    const outcomes = { fast: 0, zod: 0 };
    for (const document of [
      list([policy(next, 0), policy(next, 1)]),
      list([policy(next, 2)]),
      list([policy(next, 3)]),
      list([policy(next, 4)]),
    ]) {
      for (const changed of everySingleChange(document)) outcomes[expectNoMoreThanZod(changed)] += 1;
    }
    expect(outcomes.fast).toBeGreaterThan(100);
    expect(outcomes.zod).toBeGreaterThan(1000);
  });

  it('accepts no random mutation that zod refuses, and agrees with zod on every mutation it accepts', () => {
    const next = random(2);
    const outcomes = { fast: 0, zod: 0 };
    for (let round = 0; round < 6000; round += 1) {
      const document = list(Array.from({ length: 1 + Math.floor(next() * 2) }, (_, index) => policy(next, index)));
      let mutated = mutate(next, document);
      if (next() < 0.3) mutated = mutate(next, mutated);
      outcomes[expectNoMoreThanZod(mutated)] += 1;
    }
    // Both paths are exercised: some mutations keep the document valid, most do not.
    expect(outcomes.fast).toBeGreaterThan(300);
    expect(outcomes.zod).toBeGreaterThan(3000);
  });

  it('leaves every refused document to zod, which names the problem', () => {
    const document = list([policy(random(3), 0)]);
    const broken = structuredClone(document);
    broken.total_egress_policies = 2;
    expect(fastEgressPolicyList(broken)).toBeUndefined();
    expect(z.safeParse(egressPolicyListSchema, broken).success).toBe(false);
  });

  it('leaves names zod would trim, and objects JSON does not make, to zod', () => {
    const document = list([policy(random(4), 0)]);
    const padded = structuredClone(document);
    const inner = padded.egress_policies;
    if (!Array.isArray(inner) || inner[0] === null || typeof inner[0] !== 'object' || Array.isArray(inner[0]))
      throw new Error('generated document has no policy');
    const destinationOf = inner[0].destination;
    if (destinationOf === null || typeof destinationOf !== 'object' || Array.isArray(destinationOf))
      throw new Error('generated policy has no destination');
    destinationOf.name = ' padded ';
    expect(fastEgressPolicyList(padded)).toBeUndefined();
    expect(z.safeParse(egressPolicyListSchema, padded).data?.egress_policies[0]?.destination.name).toBe('padded');
    expect(fastEgressPolicyList(Object.assign(Object.create(null), document))).toBeUndefined();
  });
});

/** Destinations matched by name, as the API stores them: zod's to read, never the fast path's. */
const HOST_DOCUMENTS: JsonObject[] = [
  {
    id: 'h1',
    name: 'db by name',
    ips: [{ start: '10.0.0.1', end: '10.0.0.1' }],
    hosts: ['db.example.com'],
    ports: [{ start: 5432, end: 5432 }],
    protocol: 'tcp',
  },
  {
    id: 'h2',
    name: 'api',
    ips: [],
    hosts: ['api.example.com', '*.example.org'],
    ports: [{ start: 443, end: 443 }],
    protocol: 'https',
  },
  {
    id: 'h3',
    name: 'httpbin',
    ips: [],
    hosts: ['httpbin.org'],
    ports: [{ start: 80, end: 80 }],
    protocol: 'http',
    routes: [{ methods: ['GET'], path_regex: '^/status.*', headers: { 'x-key': 'v' } }, {}],
  },
];

describe('fastDestinationDocument', () => {
  it('leaves every destination matched by name to zod, which reads it whole', () => {
    for (const document of HOST_DOCUMENTS) {
      expect(fastDestinationDocument(document)).toBeUndefined();
      expect(z.parse(destinationDocumentSchema, document)).toStrictEqual(document);
    }
    const policies = list(
      HOST_DOCUMENTS.map((destination, index) => ({ id: `p${index}`, source: { type: 'app', id: 'a' }, destination })),
    );
    expect(fastEgressPolicyList(policies)).toBeUndefined();
    expect(z.safeParse(egressPolicyListSchema, policies).success).toBe(true);
  });

  it('accepts no single change that zod refuses, for every protocol', () => {
    const next = random(7);
    let fastCount = 0;
    const documents: JsonObject[] = [
      {
        id: 'd',
        name: 'tcp',
        description: 'x\ty',
        ips: [{ start: '10.0.0.1', end: '10.0.0.9' }],
        protocol: 'tcp',
        ports: [{ start: 80, end: 81 }],
      },
      {
        id: 'd',
        name: 'icmp',
        ips: [{ start: '10.0.0.1', end: '10.0.0.1' }],
        protocol: 'icmp',
        icmp_type: 8,
        icmp_code: 0,
      },
      { id: 'd', name: 'any icmp', ips: [{ start: '10.0.0.1', end: '10.0.0.1' }], protocol: 'icmp', ports: [] },
      destination(next, 1),
      ...HOST_DOCUMENTS,
    ];
    for (const document of documents) {
      for (const changed of everySingleChange(document)) {
        if (checkAgainstZod(fastDestinationDocument, destinationDocumentSchema, changed) === 'fast') fastCount += 1;
      }
    }
    expect(fastCount).toBeGreaterThan(50);
  });

  it('accepts no mutation that zod refuses, and agrees with zod on every mutation it accepts', () => {
    const next = random(5);
    let fastCount = 0;
    for (let round = 0; round < 4000; round += 1) {
      const document = round % 4 === 0 ? destination(next, round) : mutate(next, destination(next, round));
      if (checkAgainstZod(fastDestinationDocument, destinationDocumentSchema, document) === 'fast') fastCount += 1;
    }
    expect(fastCount).toBeGreaterThan(1000);
  });
});

function section(next: () => number): JsonObject {
  const rules: Json[] = Array.from({ length: 2 + Math.floor(next() * 3) }, () => {
    const protocol = pick(next, ['tcp', 'udp', 'icmp', 'all'] as const);
    const rule: JsonObject = {
      protocol,
      ips: Array.from({ length: 1 + Math.floor(next() * 3) }, (_, index) => ({
        start: `10.2.${index}.1`,
        end: `10.2.${index}.${1 + Math.floor(next() * 200)}`,
      })),
      ports: protocol === 'tcp' || protocol === 'udp' ? [{ start: 80, end: 80 + Math.floor(next() * 9) }] : [],
    };
    if (protocol === 'icmp') {
      rule.icmp_type = pick(next, [-1, 0, 8]);
      rule.icmp_code = -1;
    }
    if (next() < 0.3) rule.log = next() < 0.5;
    return rule;
  });
  // A policy for one lifecycle or every app with names: a rule by host name.
  if (next() < 0.6) {
    const protocol = pick(next, ['tcp', 'udp', 'http', 'https'] as const);
    rules.push({
      protocol,
      ips: [],
      ports: [{ start: 443, end: 443 + Math.floor(next() * 3) }],
      hosts: protocol === 'http' || protocol === 'https' ? ['api.example.com', '*.example.org'] : ['db.example.com'],
      destination: `dest-${Math.floor(next() * 9)}`,
    });
  }
  const bindings: Json[] = [
    ['global', 'running', '', [0]],
    ['space', pick(next, ['running', 'staging'] as const), 'space-1', [0, rules.length - 1]],
    ['organization', 'staging', 'org-1', [1]],
  ];
  return { rules, bindings };
}

describe('fastSecurityGroupsSection', () => {
  const expectAgrees = (document: JsonObject) =>
    checkAgainstZod(fastSecurityGroupsSection, securityGroupsSectionSchema, document);

  it('takes the sections the fan-out writes', () => {
    const next = random(8);
    for (let round = 0; round < 100; round += 1) expect(expectAgrees(section(next))).toBe('fast');
  });

  it('accepts no single change that zod refuses, to any key of any object or binding', () => {
    const next = random(9);
    const outcomes = { fast: 0, zod: 0 };
    for (let round = 0; round < 3; round += 1) {
      const document = section(next);
      for (const changed of everySingleChange(document)) outcomes[expectAgrees(changed)] += 1;
      // Bindings are tuples: every position of every binding set to every tricky value too.
      for (const changed of everyTupleChange(document, 'bindings')) outcomes[expectAgrees(changed)] += 1;
    }
    expect(outcomes.fast).toBeGreaterThan(50);
    expect(outcomes.zod).toBeGreaterThan(1000);
  });

  it('agrees with zod on rules by host name: names, wildcards by protocol, routes left to zod', () => {
    const byName = (fields: JsonObject): JsonObject => ({
      rules: [
        {
          protocol: 'https',
          ips: [],
          ports: [{ start: 443, end: 443 }],
          hosts: ['a.example.com'],
          destination: 'd1',
          ...fields,
        },
      ],
      bindings: [['global', 'running', '', [0]]],
    });
    const hostLists: Json[] = [
      ['a.example.com'],
      ['*.example.com'],
      ['*.com'],
      ['A.example.com'],
      ['10.0.0.1'],
      ['a..example.com'],
      ['-a.example.com'],
      [`${'a'.repeat(64)}.example.com`],
      ['a.example.com', 'a.example.com'],
      [],
      Array.from({ length: 65 }, (_, index) => `h${index}.example.com`),
      [1],
      'a.example.com',
    ];
    const outcomes = { fast: 0, zod: 0 };
    for (const protocol of ['tcp', 'udp', 'http', 'https', 'icmp', 'all']) {
      for (const hosts of hostLists) outcomes[expectAgrees(byName({ protocol, hosts }))] += 1;
    }
    expect(outcomes.fast).toBeGreaterThan(8);
    // Routes are checked by zod alone, accepted or not.
    expect(expectAgrees(byName({ protocol: 'http', routes: [{ path_regex: '/get' }] }))).toBe('zod');
    expect(expectAgrees(byName({ protocol: 'http', routes: [{ path_regex: '/(a+)+' }] }))).toBe('zod');
  });
});

describe('fastSnapshot', () => {
  function snapshot(next: () => number): JsonObject {
    const destinations: Json[] = [destination(next, 0), destination(next, 1), destination(next, 2)];
    return {
      format: 3,
      version: 1 + Math.floor(next() * 1000),
      destinations,
      sources: [
        ['app', 'app-1', [0, 2]],
        ['space', 'space-1', [1]],
      ],
      security_groups: section(next),
    };
  }

  const expectAgrees = (document: JsonObject) => checkAgainstZod(fastSnapshot, snapshotSchema, document);

  it('takes the snapshots the fan-out writes', () => {
    const next = random(10);
    for (let round = 0; round < 100; round += 1) expect(expectAgrees(snapshot(next))).toBe('fast');
  });

  it('accepts no single change that zod refuses, in any object or source entry', () => {
    const next = random(11);
    const outcomes = { fast: 0, zod: 0 };
    const document = snapshot(next);
    for (const changed of everySingleChange(document)) outcomes[expectAgrees(changed)] += 1;
    for (const changed of everyTupleChange(document, 'sources')) outcomes[expectAgrees(changed)] += 1;
    expect(outcomes.fast).toBeGreaterThan(50);
    expect(outcomes.zod).toBeGreaterThan(1000);
  });
});
