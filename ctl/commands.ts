// Every egressctl command, in the order `egressctl --help` lists them.
import type { CommandSpec } from './command-table.js';
import { CELL_COMMANDS } from './commands/cells.js';
import { DESTINATION_COMMANDS } from './commands/destinations.js';
import { EXPLAIN_COMMANDS } from './commands/explain.js';
import { IMPORT_COMMANDS } from './commands/import-asgs.js';
import { POLICY_COMMANDS } from './commands/policies.js';
import { SECURITY_GROUP_COMMANDS } from './commands/security-groups.js';
import type { CtlContext } from './context.js';

export const COMMANDS: readonly CommandSpec<CtlContext>[] = [
  ...DESTINATION_COMMANDS,
  ...POLICY_COMMANDS,
  ...SECURITY_GROUP_COMMANDS,
  ...CELL_COMMANDS,
  ...EXPLAIN_COMMANDS,
  ...IMPORT_COMMANDS,
];
