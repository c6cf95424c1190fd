// Desired state from two local files: the policies (body of GET /networking/v1/external/egress_policies)
// and the cell's container metadata store. Other sources (DynamoDB, a versioned document) only need to
// produce the same two values.
import { readFile } from 'node:fs/promises';
import type * as z from 'zod/mini';
import { ValidationError } from '../../core/domain/errors.js';
import { egressPolicyListSchema } from '../../core/domain/schemas.js';
import type { EgressPolicyList } from '../../core/domain/types.js';
import { parseWith } from '../../core/domain/validation.js';
import type { Container } from '../model.js';
import { containersFromStore } from './containers.js';
import { containerStoreSchema } from './containers-schema.js';

/** Parse JSON text with a schema; every failure is a ValidationError prefixed with `label`. */
export function parseJsonDocument<S extends z.core.$ZodType>(label: string, text: string, schema: S): z.output<S> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ValidationError(`${label}: malformed JSON: ${(error as Error).message}`);
  }
  try {
    return parseWith(schema, value, '');
  } catch (error) {
    if (error instanceof ValidationError) throw new ValidationError(`${label}: ${error.message}`);
    throw error;
  }
}

async function readText(label: string, path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new ValidationError(
      `${label}: cannot read ${JSON.stringify(path)}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
}

export function parsePolicies(text: string, label = 'policies'): EgressPolicyList {
  return parseJsonDocument(label, text, egressPolicyListSchema);
}

export function parseContainers(text: string, label = 'containers'): Container[] {
  const store = parseJsonDocument(label, text, containerStoreSchema);
  try {
    return containersFromStore(store);
  } catch (error) {
    if (error instanceof ValidationError) throw new ValidationError(`${label}: ${error.message}`);
    throw error;
  }
}

export async function readPoliciesFile(path: string): Promise<EgressPolicyList> {
  return parsePolicies(await readText('--policies', path), '--policies');
}

export async function readContainersFile(path: string): Promise<Container[]> {
  return parseContainers(await readText('--containers', path), '--containers');
}
