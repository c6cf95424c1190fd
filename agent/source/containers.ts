// From the validated store to the agent's Container list.
import { ValidationError } from '../../core/domain/errors.js';
import { ipv4ToNumber } from '../../core/domain/ipv4.js';
import type { Container } from '../model.js';
import type { ContainerStore } from './containers-schema.js';

/** One Container per store entry, sorted by IP. Two entries with one IP are refused: they cannot be told apart. */
export function containersFromStore(store: ContainerStore): Container[] {
  const byIp = new Map<string, { handle: string; container: Container }>();
  for (const [handle, entry] of Object.entries(store)) {
    const seen = byIp.get(entry.ip);
    if (seen !== undefined) {
      throw new ValidationError(
        `${JSON.stringify(handle)}.ip: ${entry.ip} is also the ip of ${JSON.stringify(seen.handle)}`,
      );
    }
    byIp.set(entry.ip, {
      handle,
      container: { ip: entry.ip, appId: entry.metadata.app_id, spaceId: entry.metadata.space_id },
    });
  }
  return [...byIp.values()].map((value) => value.container).sort((a, b) => ipv4ToNumber(a.ip) - ipv4ToNumber(b.ip));
}
