// `npm run demo -- asg` as a user runs it, on real namespaces: each step prints what the running app
// and the staging container reach, as cloud.gov's story says, the walk exits 0, and no namespace is
// left behind, neither at the end nor after a Ctrl-C halfway.
import { spawn, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { labAvailable } from '../../local/lab/netns-lab.js';

const ENTRY = ['--import', 'tsx', 'bin/demo.ts', 'asg'];
const ENV = { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };

/** The namespaces a demo process of this pid built (the lab names them `dl-<tag>-<pid>-…`). */
function namespacesOf(pid: number | undefined): string[] {
  const listing = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;
  return listing
    .split('\n')
    .map((line) => line.trim().split(' ')[0] ?? '')
    .filter((name) => name.startsWith(`dl-demoasg-${pid}-`));
}

/** Each step's outcome lines, `<who> → <target> <RESULT>`, by the step's number. */
function outcomes(stdout: string): Record<string, string[]> {
  const steps: Record<string, string[]> = {};
  for (const block of stdout.split('\n▶ ').slice(1)) {
    const number = /^(\d+)\./.exec(block)?.[1] ?? '?';
    steps[number] = [...block.matchAll(/^ {2}(running app|staging) +→ (\w+) \S+ +(OPEN|REFUSED|TIMEOUT)\b.*$/gm)].map(
      ([line, who, target, result]) => (line.includes('expected') ? line : `${who} → ${target} ${result}`),
    );
  }
  return steps;
}

function reach(open: Record<'running app' | 'staging', string[]>): string[] {
  return (['running app', 'staging'] as const).flatMap((who) =>
    ['internet', 'brokered', 'denied'].map(
      (target) => `${who} → ${target} ${open[who].includes(target) ? 'OPEN' : 'REFUSED'}`,
    ),
  );
}

describe.runIf(labAvailable())('npm run demo -- asg', () => {
  it('walks cloud.gov story step by step, exits 0 and leaves no namespace', () => {
    const result = spawnSync(process.execPath, ENTRY, { env: ENV, encoding: 'utf8', timeout: 150_000 });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(outcomes(result.stdout)).toEqual({
      '1': reach({ 'running app': [], staging: [] }),
      '2': reach({ 'running app': ['internet'], staging: [] }),
      '3': reach({ 'running app': ['internet', 'brokered'], staging: [] }),
      '4': reach({ 'running app': ['brokered'], staging: ['internet'] }),
      '5': reach({ 'running app': ['internet', 'brokered'], staging: ['internet'] }),
    });
    expect(result.stdout).toContain('staging reaches the internet while the running app does not');
    expect(result.stdout).toMatch(/\ndone: removing the namespaces\n$/);
    expect(namespacesOf(result.pid)).toEqual([]);
  }, 180_000);

  it('removes everything on Ctrl-C halfway and exits 130', async () => {
    const child = spawn(process.execPath, ENTRY, { env: ENV, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let built: string[] = [];
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (built.length === 0 && stdout.includes('▶ 2.')) {
        built = namespacesOf(child.pid);
        child.kill('SIGINT');
      }
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', (exitCode) => resolve(exitCode)));
    expect(built.length).toBeGreaterThan(0);
    expect(code).toBe(130);
    expect(namespacesOf(child.pid)).toEqual([]);
  }, 180_000);
});
