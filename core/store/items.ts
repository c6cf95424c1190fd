// Item layout of the single table. Every collection is one partition key, so a list is one paginated
// Query and a lookup by id or name is one BatchGet; no secondary index is needed.
//
//   pk          sk                        what
//   META        VERSION                   { version, updated_at }: +1 in every write's transaction (orders all changes)
//   DEST        <destination id>          a destination and `refs`, the number of policies using it
//   DESTNAME    <name>                    { id }: makes names unique
//   POLICY      <policy id>               { id, source_type, source_id, destination_id }
//   DESTREF#<d> <source type>#<source id> { policy_id }: makes policies unique, finds the users of a destination
import type { Destination, EgressPolicy, SourceType } from '../domain/types.js';
import { PARTITION_KEY, SORT_KEY } from './table-definition.js';

export type Key = Record<typeof PARTITION_KEY | typeof SORT_KEY, string>;

const key = (pk: string, sk: string): Key => ({ [PARTITION_KEY]: pk, [SORT_KEY]: sk });

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

export interface PolicyItem {
  id: string;
  source_type: SourceType;
  source_id: string;
  destination_id: string;
}

export function destinationItem(destination: Destination, refs: number): Record<string, unknown> {
  return { ...destinationKey(destination.id), ...destination, refs };
}

/** The API shape: only the fields of a destination, in a stable order (responses are compared as text). */
export function toDestination(destination: Destination): Destination {
  return {
    id: destination.id,
    name: destination.name,
    ...(destination.description !== undefined ? { description: destination.description } : {}),
    ips: destination.ips.map(({ start, end }) => ({ start, end })),
    ports: destination.ports.map(({ start, end }) => ({ start, end })),
    protocol: destination.protocol,
    ...(destination.icmp_type !== undefined ? { icmp_type: destination.icmp_type } : {}),
    ...(destination.icmp_code !== undefined ? { icmp_code: destination.icmp_code } : {}),
  };
}

export function toPolicy(policy: PolicyItem, destination: Destination): EgressPolicy {
  return { id: policy.id, source: { type: policy.source_type, id: policy.source_id }, destination };
}
