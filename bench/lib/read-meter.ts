// Counts what a DynamoDB client reads: read units from DynamoDB's own ConsumedCapacity (asked for on
// every read), and per partition key by DynamoDB's documented rule (a strongly consistent read costs
// one unit per started 4 KB of each item; a missing key one unit), with the bytes of the items.
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';

export interface ReadTally {
  /** Sum of ConsumedCapacity.CapacityUnits over every read. */
  units: number;
  bytes: number;
  requests: number;
  /** Read units by partition key (documented rule). */
  readonly byKey: Map<string, number>;
}

export const emptyTally = (): ReadTally => ({ units: 0, bytes: 0, requests: 0, byKey: new Map() });

const READS = new Set(['GetItemCommand', 'BatchGetItemCommand', 'QueryCommand']);

/**
 * DynamoDB's item size, near enough: attribute names plus values (strings and binaries by length,
 * numbers by digits). The items come as the document client hands them over (plain values) or as
 * AttributeValues; both are measured the same way.
 */
export function itemBytes(item: unknown): number {
  if (typeof item !== 'object' || item === null) return 0;
  let size = 0;
  for (const [name, value] of Object.entries(item)) size += name.length + valueBytes(value);
  return size;
}

function valueBytes(value: unknown): number {
  if (typeof value === 'string') return Buffer.byteLength(value);
  if (typeof value === 'number' || typeof value === 'bigint') return String(value).length;
  if (typeof value === 'boolean' || value === null || value === undefined) return 1;
  if (value instanceof Uint8Array) return value.byteLength;
  if (Array.isArray(value)) return 3 + value.reduce((sum: number, each: unknown) => sum + 1 + valueBytes(each), 0);
  if (value instanceof Set) return [...value].reduce((sum: number, each: unknown) => sum + valueBytes(each), 0);
  return 3 + itemBytes(value);
}

/** The partition key of an item or key, plain or as an AttributeValue. */
function pkOf(item: unknown): string {
  if (typeof item !== 'object' || item === null || !('pk' in item)) return '?';
  const pk: unknown = item.pk;
  if (typeof pk === 'string') return pk;
  if (typeof pk === 'object' && pk !== null && 'S' in pk && typeof pk.S === 'string') return pk.S;
  return '?';
}

function add(tally: ReadTally, key: string, units: number): void {
  tally.byKey.set(key, (tally.byKey.get(key) ?? 0) + units);
}

/** Makes every read of `client` report into `tally()` (the tally in force when the read returns). */
export function meterReads(client: DynamoDBClient, tally: () => ReadTally | undefined): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as Record<string, unknown>;
      if (!READS.has(context.commandName ?? '')) return next(args);
      input.ReturnConsumedCapacity = 'TOTAL';
      const result = await next(args);
      const into = tally();
      if (into === undefined) return result;
      const output = result.output as {
        ConsumedCapacity?: { CapacityUnits?: number } | { CapacityUnits?: number }[];
        Item?: unknown;
        Items?: unknown[];
        Responses?: Record<string, unknown[]>;
      };
      const consumed = Array.isArray(output.ConsumedCapacity) ? output.ConsumedCapacity : [output.ConsumedCapacity];
      into.units += consumed.reduce((sum, each) => sum + (each?.CapacityUnits ?? 0), 0);
      into.requests += 1;
      if (context.commandName === 'GetItemCommand') {
        const size = output.Item === undefined ? 0 : itemBytes(output.Item);
        into.bytes += size;
        add(into, pkOf(input.Key), Math.max(1, Math.ceil(size / 4096)));
      } else if (context.commandName === 'QueryCommand') {
        const size = (output.Items ?? []).reduce((sum: number, item) => sum + itemBytes(item), 0);
        into.bytes += size;
        const values = input.ExpressionAttributeValues as Record<string, unknown>;
        add(into, pkOf({ pk: values[':pk'] }), Math.max(1, Math.ceil(size / 4096)));
      } else {
        const found = Object.values(output.Responses ?? {}).flat();
        const requested = Object.values(input.RequestItems as Record<string, { Keys: unknown[] }>)
          .flatMap((request) => request.Keys)
          .map(pkOf);
        for (const pk of requested) {
          const item = found.find((each) => pkOf(each) === pk);
          const size = item === undefined ? 0 : itemBytes(item);
          into.bytes += size;
          add(into, pk, Math.max(1, Math.ceil(size / 4096)));
        }
      }
      return result;
    },
    { step: 'serialize', priority: 'high', name: 'benchReadMeter' },
  );
}
