// What a cell's kernel holds, as text to compare before and after an agent run.
import type { Lab } from '../../local/lab/netns-lab.js';

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
