// API latency on local mode with a realistic amount of data: 10,000 destinations and 10,000
// policies, written through the API itself. Baseline, measured in the same run: an authenticated
// round trip that does no DynamoDB work (a GET of an unknown route is refused before the store),
// so each ratio says how much the store work costs on top of HTTP + JWT verification.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_ITEMS_PER_REQUEST } from '../core/domain/schemas.js';
import { startLocalMode } from '../local/local-mode.js';
import { printTable, sample, timeMs } from './lib/stats.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/** A source GUID per number (the API takes GUID sources by default). */
const benchGuid = (n: number): string => `be9c0000-0000-4000-8000-${String(n).padStart(12, '0')}`;
const DESTINATIONS = Number(process.env.BENCH_DESTINATIONS ?? 10_000);
const POLICIES = Number(process.env.BENCH_POLICIES ?? 10_000);
const PARALLEL_WRITERS = Number(process.env.BENCH_WRITERS ?? 1);
const API = '/networking/v1/external';

const stateDir = mkdtempSync(join(tmpdir(), 'egress-bench-'));
const local = await startLocalMode({ stateDir, port: 0, inMemory: true });
const token = await local.issuer.sign();

async function call(method: string, path: string, body?: unknown): Promise<unknown> {
  const response = await fetch(`${local.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}` },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const parsed = (await response.json()) as unknown;
  if (response.status >= 500 || (response.status >= 400 && response.status !== 404)) {
    throw new Error(`${method} ${path} answered ${response.status}: ${JSON.stringify(parsed)}`);
  }
  return parsed;
}

function destination(index: number): Record<string, unknown> {
  const octet3 = Math.floor(index / 250) % 250;
  return {
    name: `bench-destination-${index}`,
    description: 'benchmark destination',
    ips: [{ start: `203.0.${octet3}.${(index % 250) + 1}`, end: `203.0.${octet3}.${(index % 250) + 1}` }],
    ports: [{ start: 1000 + (index % 1000), end: 1000 + (index % 1000) }],
    protocol: index % 2 === 0 ? 'tcp' : 'udp',
  };
}

/** Runs `count` requests with a few writers in parallel, as an operator script would. */
async function inBatches(count: number, send: (offset: number, size: number) => Promise<void>): Promise<void> {
  const offsets = Array.from({ length: Math.ceil(count / MAX_ITEMS_PER_REQUEST) }, (_, i) => i * MAX_ITEMS_PER_REQUEST);
  const workers = Array.from({ length: PARALLEL_WRITERS }, async () => {
    for (let offset = offsets.shift(); offset !== undefined; offset = offsets.shift()) {
      await send(offset, Math.min(MAX_ITEMS_PER_REQUEST, count - offset));
    }
  });
  await Promise.all(workers);
}

try {
  const loadDestinations = await timeMs(() =>
    inBatches(DESTINATIONS, async (offset, size) => {
      await call('POST', `${API}/destinations`, {
        destinations: Array.from({ length: size }, (_, i) => destination(offset + i)),
      });
    }),
  );
  const listed = (await call('GET', `${API}/destinations`)) as { destinations: { id: string; name: string }[] };
  const ids = listed.destinations.map((d) => d.id);
  const loadPolicies = await timeMs(() =>
    inBatches(POLICIES, async (offset, size) => {
      await call('POST', `${API}/egress_policies`, {
        egress_policies: Array.from({ length: size }, (_, i) => ({
          source: { type: (offset + i) % 3 === 0 ? 'space' : 'app', id: benchGuid(offset + i) },
          destination: { id: ids[(offset + i) % ids.length] },
        })),
      });
    }),
  );
  console.log(
    `setup: ${DESTINATIONS} destinations in ${(loadDestinations.ms / 1000).toFixed(1)} s, ` +
      `${POLICIES} policies in ${(loadPolicies.ms / 1000).toFixed(1)} s ` +
      `(bulk requests of ${MAX_ITEMS_PER_REQUEST}, ${PARALLEL_WRITERS} writers)`,
  );

  const baseline = {
    name: 'baseline: authenticated request, no store',
    samples: await sample(200, () => call('GET', `${API}/nothing-here`)),
  };
  const rows = [
    {
      name: `list destinations (${DESTINATIONS})`,
      samples: await sample(20, () => call('GET', `${API}/destinations`)),
    },
    {
      name: `list egress policies (${POLICIES})`,
      samples: await sample(10, () => call('GET', `${API}/egress_policies`)),
    },
    {
      name: 'filtered list ?id= (1 id)',
      samples: await sample(200, (i) => call('GET', `${API}/destinations?id=${ids[(i * 37) % ids.length]}`)),
    },
    {
      name: 'filtered list ?name= (3 names)',
      samples: await sample(200, (i) =>
        call(
          'GET',
          `${API}/destinations?name=bench-destination-${i},bench-destination-${i + 1},bench-destination-${i + 2}`,
        ),
      ),
    },
  ];
  const created: string[] = [];
  rows.push({
    name: 'create 1 destination',
    samples: await sample(200, async (i) => {
      const body = (await call('POST', `${API}/destinations`, { destinations: [destination(DESTINATIONS + i)] })) as {
        destinations: { id: string }[];
      };
      created.push(body.destinations[0]?.id ?? '');
    }),
  });
  rows.push({
    name: 'create 1 egress policy',
    samples: await sample(200, (i) =>
      call('POST', `${API}/egress_policies`, {
        egress_policies: [{ source: { id: benchGuid(1_000_000 + i) }, destination: { id: ids[i % ids.length] } }],
      }),
    ),
  });
  rows.push({
    name: 'delete 1 destination',
    samples: await sample(created.length, (i) => call('DELETE', `${API}/destinations/${created[i]}`)),
  });
  printTable('API on local mode (DynamoDB Local, same machine)', baseline, rows);
} finally {
  await local.stop();
  rmSync(stateDir, { recursive: true, force: true });
}
