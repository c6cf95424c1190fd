// The proxy tests' own prerequisites, checked like the lab's: under CI=true a missing tool fails the
// file; elsewhere the file says why and runs nothing.
import { spawnSync } from 'node:child_process';

const TOOLS = {
  haproxy: { args: ['-v'], install: 'apt-get install haproxy' },
  dnsmasq: { args: ['--version'], install: 'apt-get install dnsmasq-base' },
  openssl: { args: ['version'], install: 'apt-get install openssl' },
  curl: { args: ['--version'], install: 'apt-get install curl' },
  'systemd-analyze': { args: ['--version'], install: 'apt-get install systemd' },
} as const;

export type Tool = keyof typeof TOOLS;

export function toolProblem(tool: Tool): string | undefined {
  const { args, install } = TOOLS[tool];
  const result = spawnSync(tool, args, { stdio: 'ignore' });
  return result.error !== undefined || result.status !== 0 ? `${tool} is missing (${install})` : undefined;
}

/** True when every tool is there; throws under CI=true when one is not. */
export function toolsAvailable(what: string, ...tools: Tool[]): boolean {
  const problems = tools.map(toolProblem).filter((problem) => problem !== undefined);
  if (problems.length === 0) return true;
  if (process.env.CI === 'true') throw new Error(`${what} prerequisites missing: ${problems.join('; ')}`);
  console.warn(`${what} not run: ${problems.join('; ')}`);
  return false;
}
