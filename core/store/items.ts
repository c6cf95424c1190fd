// Item layout of the single table. Every collection is one partition key, so a list is one paginated
// Query and a lookup by id or name is one BatchGet; no secondary index is needed.
//
//   pk          sk                        what
//   META        VERSION                   { version }: +1 in every write's transaction (orders all changes)
//   DEST        <destination id>          a destination and `refs`, the number of policies using it
//   DESTNAME    <name>                    { id }: makes names unique
//   POLICY      <policy id>               a policy: source and destination id
//   DESTREF#<d> <source type>#<source id> { policy_id }: makes policies unique, finds the users of a destination
import type { Destination, DestinationSpec, EgressPolicy, SourceType } from '../domain/types.js';
import { PARTITION_KEY, SORT_KEY } from './table-definition.js';

export type Key = Record<typeof PARTITION_KEY | typeof SORT_KEY, string>;

const key = (pk: string, sk: string): Key => ({ [PARTITION_KEY]: pk, [SORT_KEY]: sk }) as Key;

export const META_PK = 'META';
export const DESTINATION_PK = 'DEST';
export const DESTINATION_NAME_PK = 'DESTNAME';
export const POLICY_PK = 'POLICY';

export const versionKey = (): Key => key(META_PK, 'VERSION');
export const destinationKey = (id: string): Key => key(DESTINATION_PK, id);
export const destinationNameKey = (name: string): Key => key(DESTINATION_NAME_PK, name);
export const policyKey = (id: string): Key => key(POLICY_PK, id);
export const destinationRefPk = (destinationId: string): string => `DESTREF#${destinationId}`;
export const destinationRefKey = (destinationId: string, sourceType: SourceType, sourceId: string): Key =>
  key(destinationRefPk(destinationId), `${sourceType}#${sourceId}`);

export interface DestinationItem extends Destination {
  /** How many policies use this destination. */
  refs: number;
}

export interface PolicyItem {
  id: string;
  source_type: SourceType;
  source_id: string;
  destination_id: string;
}

export interface DestinationRefItem {
  policy_id: string;
}

export interface DestinationNameItem {
  id: string;
}

export function destinationItem(destination: Destination, refs: number): Record<string, unknown> {
  return { ...destinationKey(destination.id), ...destination, refs };
}

/** Back to the API shape: only the fields of a destination, in a stable order. */
export function toDestination(item: object): Destination {
  const stored = item as unknown as DestinationItem;
  const spec: DestinationSpec = {
    name: stored.name,
    ips: stored.ips,
    ports: stored.ports ?? [],
    protocol: stored.protocol,
  };
  if (stored.description !== undefined) spec.description = stored.description;
  if (stored.icmp_type !== undefined) spec.icmp_type = Number(stored.icmp_type);
  if (stored.icmp_code !== undefined) spec.icmp_code = Number(stored.icmp_code);
  return {
    id: stored.id,
    name: spec.name,
    ...(spec.description !== undefined ? { description: spec.description } : {}),
    ips: spec.ips.map(({ start, end }) => ({ start, end })),
    ports: spec.ports.map(({ start, end }) => ({ start: Number(start), end: Number(end) })),
    protocol: spec.protocol,
    ...(spec.icmp_type !== undefined ? { icmp_type: spec.icmp_type } : {}),
    ...(spec.icmp_code !== undefined ? { icmp_code: spec.icmp_code } : {}),
  };
}

export function toPolicy(item: Record<string, unknown>, destination: Destination): EgressPolicy {
  const stored = item as unknown as PolicyItem;
  return { id: stored.id, source: { type: stored.source_type, id: stored.source_id }, destination };
}
