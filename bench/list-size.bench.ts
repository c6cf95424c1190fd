// How large the list answers get at fleet scale, through the API's own compression (`compressed` of
// lambdas/api/middleware/compress-response.ts, what every route's handler runs): the body of GET
// /egress_policies and GET /destinations as the handlers make it, then brotli or gzip and base64 as
// Lambda carries it, against the 6 MB a Lambda may return. Ids are random UUIDs, as the API and Cloud
// Foundry make them: their random bytes are what does not compress. Each policy list is measured in
// the store's order (by policy id, what the handler got before it sorted) and in the handler's
// (inListOrder: by destination, then source), in the same run. Prints only.
//  - issue 13's workload: 100,000 policies from 5,000 apps (20 each, drawn at random) over 10,000
//    destinations
//  - the worst case: 100,000 policies, each from its own app to its own destination
import { randomUUID } from 'node:crypto';
import { type Destination, destinationList, type EgressPolicy, egressPolicyList } from '../core/domain/types.js';
import { inListOrder } from '../lambdas/api/handlers/list-egress-policies.js';
import { compressed, MAX_RESPONSE_BODY_BYTES } from '../lambdas/api/middleware/compress-response.js';

const MB = 1024 * 1024;

function destination(index: number): Destination {
  return {
    id: randomUUID(),
    name: `destination-${index}`,
    description: `service ${index % 997}`,
    protocol: 'tcp',
    ips: [{ start: `10.${(index >> 8) & 255}.${index & 255}.1`, end: `10.${(index >> 8) & 255}.${index & 255}.1` }],
    ports: [{ start: 443, end: 443 }],
  };
}

/** `perApp` policies for each of `apps` apps, to destinations drawn at random (`distinct`: one each). */
function policies(apps: number, destinations: number, perApp: number, distinct = false): EgressPolicy[] {
  const targets = Array.from({ length: destinations }, (_, index) => destination(index));
  const list: EgressPolicy[] = [];
  for (let app = 0; app < apps; app += 1) {
    const source = randomUUID();
    for (let n = 0; n < perApp; n += 1) {
      const target = distinct ? targets[list.length] : targets[Math.floor(Math.random() * destinations)];
      if (target === undefined) throw new Error('no destination');
      list.push({ id: randomUUID(), source: { type: 'app', id: source }, destination: target });
    }
  }
  return list;
}

/** As the store lists them: by policy id (DynamoDB's sort key). */
const inStoreOrder = (list: readonly EgressPolicy[]): EgressPolicy[] =>
  [...list].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));

function report(label: string, body: string): void {
  const plain = Buffer.byteLength(body);
  const cells: string[] = [`${label.padEnd(76)} JSON ${(plain / MB).toFixed(1).padStart(5)} MB`];
  for (const coding of ['br', 'gzip'] as const) {
    const started = performance.now();
    try {
      const answer = compressed({ statusCode: 200, body }, coding);
      const bytes = typeof answer.body === 'string' ? answer.body.length : 0;
      const ms = performance.now() - started;
      cells.push(
        `${coding} ${(bytes / MB).toFixed(2)} MB base64 (${ms.toFixed(0)} ms, ${(bytes / MAX_RESPONSE_BODY_BYTES).toFixed(2)} of the limit)`,
      );
    } catch (error) {
      cells.push(`${coding}: refused (${error instanceof Error ? error.message : String(error)})`);
    }
  }
  console.log(cells.join('   '));
}

console.log(`limit: ${(MAX_RESPONSE_BODY_BYTES / MB).toFixed(2)} MB of body (Lambda's 6 MB less headroom)`);
for (const [label, list] of [
  ['100,000 from 5,000 apps to 10,000 dest.', policies(5_000, 10_000, 20)],
  ['100,000, all distinct apps and dest.', policies(100_000, 100_000, 1, true)],
] as const) {
  report(`GET /egress_policies: ${label}, store order`, JSON.stringify(egressPolicyList(inStoreOrder(list))));
  report(`GET /egress_policies: ${label}, list order`, JSON.stringify(egressPolicyList(inListOrder(list))));
}
report(
  'GET /destinations: 10,000',
  JSON.stringify(destinationList(Array.from({ length: 10_000 }, (_, i) => destination(i)))),
);
report(
  'GET /destinations: 100,000',
  JSON.stringify(destinationList(Array.from({ length: 100_000 }, (_, i) => destination(i)))),
);
