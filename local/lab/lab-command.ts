// `npm run lab [-- up] [--dir DIR] [--cells N] [--containers N]`, `npm run lab -- down [--dir DIR]`,
// `--help`: builds (or takes down) namespace cells that outlive the command, for local mode's real
// cells. Needs root, as the namespaces do.

import { labPrerequisiteProblem } from './netns-lab.js';
import { DEFAULT_LAB_TAG, type LabUp, labDown, labUp, MAX_LAB_CELLS, MAX_LAB_CONTAINERS } from './persistent-lab.js';

export const DEFAULT_LAB_DIR = '.local/lab';

export const LAB_USAGE = `usage: npm run lab [-- up] [--dir DIR] [--cells N] [--containers N]
       npm run lab -- down [--dir DIR]

Builds network-namespace cells that stay up (as root), writes their containers files and a cells file
for local mode, and prints how to use them; \`down\` stops and removes all of it.

  --dir DIR          where the cells file and containers files go (default ${DEFAULT_LAB_DIR})
  --cells N          cells to build, 1-${MAX_LAB_CELLS} (default 2)
  --containers N     containers per cell, 1-${MAX_LAB_CONTAINERS} (default 2)
  -h, --help         print this and exit
`;

export interface LabIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

type Parsed =
  | { readonly kind: 'help' }
  | { readonly kind: 'up'; readonly dir: string; readonly cells: number; readonly containers: number }
  | { readonly kind: 'down'; readonly dir: string };

const count = (flag: string, value: string | undefined, max: number): number => {
  if (value === undefined) throw new Error(`${flag} needs a value`);
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > max) {
    throw new Error(`${flag}: ${JSON.stringify(value)} is not a whole number from 1 to ${max}`);
  }
  return Number(value);
};

export function parseLabArgs(argv: readonly string[]): Parsed {
  let verb: 'up' | 'down' = 'up';
  let dir = DEFAULT_LAB_DIR;
  let cells = 2;
  let containers = 2;
  const args = [...argv];
  if (args[0] === 'up' || args[0] === 'down') verb = args.shift() === 'down' ? 'down' : 'up';
  while (args.length > 0) {
    const flag = args.shift();
    if (flag === '-h' || flag === '--help') return { kind: 'help' };
    const value = args.shift();
    if (flag === '--dir') {
      if (value === undefined || value === '') throw new Error('--dir needs a value');
      dir = value;
    } else if (flag === '--cells' && verb === 'up') cells = count(flag, value, MAX_LAB_CELLS);
    else if (flag === '--containers' && verb === 'up') containers = count(flag, value, MAX_LAB_CONTAINERS);
    else throw new Error(`unknown option ${JSON.stringify(flag)} for lab ${verb}`);
  }
  return verb === 'down' ? { kind: 'down', dir } : { kind: 'up', dir, cells, containers };
}

export function describeLab(lab: LabUp, dir: string): string {
  const [first] = lab.cells;
  const container = first?.containers[0];
  const lines = [
    `lab up: ${lab.cells.length} cell(s); external host ${lab.external.addresses.join(' ')} (tcp ${lab.external.tcpPorts.join(' ')}, udp ${lab.external.udpPorts.join(' ')})`,
    ...lab.cells.flatMap((cell) => [
      `  ${cell.name} (netns ${cell.netns}, containers file ${cell.containersFile})`,
      ...cell.containers.map((c) => `    ${c.ip}  app ${c.appId}  (netns ${c.netns})`),
    ]),
    '',
    'run local mode on these cells:',
    `  EGRESS_LOCAL_CELLS=${lab.cellsFile} npm start`,
    ...(container === undefined
      ? []
      : [
          'try a connection from a container (refused until a policy allows it):',
          `  ip netns exec ${container.netns} bash -c 'echo > /dev/tcp/${lab.external.addresses[0]}/3306 && echo open'`,
        ]),
    'take it down:',
    `  npm run lab -- down${dir === DEFAULT_LAB_DIR ? '' : ` --dir ${dir}`}`,
    '',
  ];
  return lines.join('\n');
}

export async function runLabCommand(argv: readonly string[], io: LabIo, tag = DEFAULT_LAB_TAG): Promise<number> {
  let parsed: Parsed;
  try {
    parsed = parseLabArgs(argv);
  } catch (error) {
    io.stderr(`error: ${error instanceof Error ? error.message : String(error)}\n\n${LAB_USAGE}`);
    return 2;
  }
  if (parsed.kind === 'help') {
    io.stdout(LAB_USAGE);
    return 0;
  }
  const problem = labPrerequisiteProblem();
  if (problem !== undefined) {
    io.stderr(`error: cannot build namespace cells here: ${problem}\n`);
    return 1;
  }
  try {
    if (parsed.kind === 'down') {
      const removed = await labDown({ dir: parsed.dir, tag });
      io.stdout(`lab down: ${removed.length} namespace(s) removed, ${parsed.dir} deleted\n`);
      return 0;
    }
    const lab = await labUp({ dir: parsed.dir, cells: parsed.cells, containersPerCell: parsed.containers, tag });
    io.stdout(describeLab(lab, parsed.dir));
    return 0;
  } catch (error) {
    io.stderr(`error: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}
