// Desired state from two local files: the policies (body of GET /networking/v1/external/egress_policies)
// and the cell's container metadata store. Other sources (DynamoDB, a versioned document) only need to
// produce the same two values.
import * as z from 'zod/mini';
import { fastEgressPolicyList, fastSecurityGroupsSection } from '../../core/domain/document-fast-path.js';
import { ValidationError } from '../../core/domain/errors.js';
import { egressPolicyListSchema } from '../../core/domain/schemas.js';
import {
  type PoliciesWithGroups,
  type SecurityGroupsSection,
  securityGroupsSectionSchema,
  withPolicyBindings,
} from '../../core/domain/snapshot-groups.js';
import { formatPath, listProblems, parseWith, quote } from '../../core/domain/validation.js';
import type { Container } from '../../core/plan/model.js';
import { DEFAULT_OVERLAY_CIDR } from '../../core/plan/plan.js';
import { containersFromStore } from './containers.js';
import { parseContainerStore } from './containers-schema.js';
import { findDuplicateKey, mayRepeatKey } from './duplicate-keys.js';
import { readInputFile } from './read-file.js';

export interface ContainersOptions {
  /** The cell's container network: every container's address must be in it. @default DEFAULT_OVERLAY_CIDR (plan.ts) */
  readonly overlayCidr?: string;
}

/** Runs `parse`, prefixing the message of a ValidationError with `label`. */
function labelled<T>(label: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof ValidationError) throw new ValidationError(`${label}: ${error.message}`);
    throw error;
  }
}

/**
 * JSON text to a value; every failure is a ValidationError prefixed with `label`. A key repeated in
 * one object is refused: JSON.parse would keep the last copy without a word (see duplicate-keys.ts).
 */
export function parseJsonText(label: string, text: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    // V8's message quotes the text around the error: clipped and escaped like any problem.
    const message = error instanceof Error ? error.message : String(error);
    throw new ValidationError(`${label}: ${listProblems([`malformed JSON: ${message}`])}`);
  }
  const duplicate = mayRepeatKey(text, value) ? findDuplicateKey(text) : undefined;
  if (duplicate !== undefined) {
    const where = formatPath(duplicate.path);
    const problem = `${where ? `${where}: ` : ''}key ${quote(duplicate.key)} appears twice`;
    throw new ValidationError(`${label}: ${listProblems([problem])}`);
  }
  return value;
}

/** Parse JSON text with a schema; every failure is a ValidationError prefixed with `label`. */
export function parseJsonDocument<S extends z.core.$ZodType>(label: string, text: string, schema: S): z.output<S> {
  const value = parseJsonText(label, text);
  return labelled(label, () => parseWith(schema, value, ''));
}

/** The optional security groups beside the v1 list (the section a snapshot carries, snapshot-groups.ts). */
const groupsPartSchema = z.object({ security_groups: z.optional(securityGroupsSectionSchema) });

/** The security groups beside the list when the fast path vouches for them (or there are none). */
function fastGroupsPart(value: unknown): SecurityGroupsSection | undefined {
  if (typeof value !== 'object' || value === null || !('security_groups' in value)) return undefined;
  return fastSecurityGroupsSection(value.security_groups);
}

/**
 * The v1 list (GET /egress_policies' body), optionally with the `security_groups` section of a
 * snapshot beside it (validated as a snapshot's is); other extra keys are ignored as before.
 */
export function parsePolicies(text: string, label = 'policies'): PoliciesWithGroups {
  const value = parseJsonText(label, text);
  // The fast path answers for the plain well-formed list; zod decides everything else.
  const list = fastEgressPolicyList(value) ?? labelled(label, () => parseWith(egressPolicyListSchema, value, ''));
  const groups = fastGroupsPart(value) ?? labelled(label, () => parseWith(groupsPartSchema, value, '')).security_groups;
  // Policies for one lifecycle or for every app are applied as the snapshot's bindings are.
  return withPolicyBindings(groups === undefined ? list : { ...list, security_groups: groups });
}

export function parseContainers(
  text: string,
  options: ContainersOptions & { readonly label?: string } = {},
): Container[] {
  const label = options.label ?? 'containers';
  const value = parseJsonText(label, text);
  return labelled(label, () =>
    containersFromStore(parseContainerStore(value), options.overlayCidr ?? DEFAULT_OVERLAY_CIDR),
  );
}

export async function readPoliciesFile(path: string): Promise<PoliciesWithGroups> {
  return parsePolicies(await readInputFile('--policies', path), '--policies');
}

/** The store at `path`; pass the overlay the cell is configured with (`--overlay-cidr`). */
export async function readContainersFile(path: string, options: ContainersOptions = {}): Promise<Container[]> {
  return parseContainers(await readInputFile('--containers', path), { ...options, label: '--containers' });
}
