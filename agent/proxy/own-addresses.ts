// The cell's own IPv4 addresses, which the proxy must refuse as a resolved destination: a name an
// allowed zone points at the cell would otherwise let a container reach the cell's own services
// through the proxy (a container connecting to the cell directly meets the cell's INPUT rules; the
// proxy's connection comes from the cell itself).
import { isIpv4 } from '../../core/domain/ipv4.js';
import { ApplyError, firstLine } from '../errors.js';
import type { CommandRunner } from '../runner.js';

const INET = /\sinet (\d{1,3}(?:\.\d{1,3}){3})\//;

/** The addresses `ip -4 -o addr show` lists, one per interface address, as /32 blocks, sorted. */
export function parseOwnAddresses(output: string): string[] {
  const found = new Set<string>();
  for (const line of output.split('\n')) {
    const address = INET.exec(line)?.[1];
    if (address !== undefined && isIpv4(address)) found.add(`${address}/32`);
  }
  return [...found].sort();
}

/** The cell's addresses, read where the proxy runs; a failed read fails the proxy step, which removes its redirects (closed). */
export async function readOwnAddresses(runner: CommandRunner): Promise<string[]> {
  const result = await runner('ip', ['-4', '-o', 'addr', 'show']);
  if (result.code !== 0) {
    const message = `cannot read the cell's addresses: ip exited with ${result.code}: ${firstLine(result.stderr)}`;
    throw new ApplyError(message, 'ip', result.stderr);
  }
  return parseOwnAddresses(result.stdout);
}
