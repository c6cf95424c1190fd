// What a cell's kernel holds, as text to compare before and after an agent run.
import { type Lab, run } from '../../local/lab/netns-lab.js';

/**
 * A saved line the agent made: one of its chains, a rule in one, or a rule it tagged (the hook). An
 * operator rule that merely mentions `dyneg` (in a comment, say) is not one.
 */
export const isAgentLine = (line: string): boolean =>
  /^:dyneg-/.test(line) || /^-A dyneg-/.test(line) || /--comment "?dyneg:/.test(line);

/** Every line of every table that is not the agent's (comments and counters stripped): the operator's rules. */
export async function operatorState(lab: Lab, ns: string): Promise<string> {
  return (await lab.execOk(ns, ['iptables-save']))
    .split('\n')
    .filter((line) => !line.startsWith('#') && !isAgentLine(line))
    .map((line) => line.replace(/\[\d+:\d+\]$/, ''))
    .join('\n');
}

/** The agent's lines in the filter table: its chains, rules and hook. */
export async function ownedFilterState(lab: Lab, ns: string): Promise<string> {
  return (await lab.execOk(ns, ['iptables-save', '-t', 'filter'])).split('\n').filter(isAgentLine).join('\n');
}

/** Operator rules the agent must never touch: in FORWARD, in a chain of their own, in nat. */
export async function addOperatorRules(lab: Lab, ns: string): Promise<void> {
  await lab.execOk(ns, ['iptables', '-A', 'FORWARD', '-s', '10.255.9.9', '-j', 'DROP']);
  await lab.execOk(ns, ['iptables', '-N', 'OPERATOR-AUDIT']);
  await lab.execOk(ns, ['iptables', '-A', 'OPERATOR-AUDIT', '-p', 'tcp', '--dport', '22', '-j', 'RETURN']);
  await lab.execOk(ns, ['iptables', '-A', 'FORWARD', '-j', 'OPERATOR-AUDIT']);
  await lab.execOk(ns, ['iptables', '-t', 'nat', '-A', 'POSTROUTING', '-d', '192.0.2.250', '-j', 'ACCEPT']);
}

/**
 * The agent's rules (counters stripped) and its sets (as `ipset save` writes them) in namespace `ns`:
 * everything of the agent's to compare between two kernels. A set made anew gets a new hash seed
 * (initval); its name and members are what count.
 */
export async function ownedRulesAndSets(ns: string): Promise<string> {
  const read = async (argv: readonly string[]) => {
    const result = await run(['ip', 'netns', 'exec', ns, ...argv]);
    if (result.code !== 0) throw new Error(`${argv.join(' ')}: ${result.stderr}`);
    return result.stdout;
  };
  const rules = (await read(['iptables-save', '-t', 'filter']))
    .split('\n')
    .filter((line) => line.includes('dyneg'))
    .map((line) => line.replace(/\[\d+:\d+\]/, ''));
  const sets = (await read(['ipset', 'save']))
    .split('\n')
    .filter((line) => line.includes('dyneg'))
    .map((line) => line.replace(/ initval 0x[0-9a-f]+/, ''));
  return [...rules, ...sets.sort()].join('\n');
}

/** What the proxy step leaves in nat (interception.ts): `source`'s https redirected to the proxy. */
export const plantedRedirects = (source: string): string =>
  [
    '*nat',
    ':dyneg-PROXY - [0:0]',
    '-A PREROUTING -m comment --comment "dyneg:proxy-hook" -j dyneg-PROXY',
    `-A dyneg-PROXY -s ${source}/32 -p tcp -m tcp --dport 443 -j REDIRECT --to-ports 15443`,
    'COMMIT',
    '',
  ].join('\n');
