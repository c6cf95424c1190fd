// The bodies of the V3 security group routes, checked as Cloud Controller's messages check them
// (SecurityGroupCreateMessage, SecurityGroupUpdateMessage, ToManyRelationshipMessage), with CF's
// wording, every problem at once, joined as CF joins full_messages. Rules are checked by
// core/domain/security-group-rules.ts.

import * as z from 'zod/mini';
import { ValidationError } from '../../../core/domain/errors.js';
import { GUID_PATTERN, identifierSchema, refusedNameCharacters } from '../../../core/domain/model-primitives.js';
import type { SourceIdFormat } from '../../../core/domain/schemas.js';
import type {
  GloballyEnabled,
  SecurityGroupInput,
  SecurityGroupRule,
  SecurityGroupUpdate,
} from '../../../core/domain/security-group.js';
import { decodeSecurityGroupRules } from '../../../core/domain/security-group-rules.js';

const MAX_NAME_LENGTH = 250;
const CREATE_KEYS = ['name', 'globally_enabled', 'relationships', 'rules'];
const UPDATE_KEYS = ['name', 'globally_enabled', 'rules'];
/** CF's two relationships, and ours: every space of an organisation. */
const RELATIONSHIP_KEYS = ['running_spaces', 'staging_spaces', 'running_organizations', 'staging_organizations'];

type JsonObject = Readonly<Record<string, unknown>>;

const isObject = (value: unknown): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const quoted = (keys: readonly string[]): string => keys.map((key) => `'${key}'`).join(', ');

/** Collects problems in CF's order; throws them all as one ValidationError (CF joins them with ", "). */
class Problems {
  private readonly list: string[] = [];
  add(problem: string): void {
    this.list.push(problem);
  }
  throwIfAny(): void {
    if (this.list.length > 0) throw new ValidationError(this.list.join(', '));
  }
}

function object(body: unknown): JsonObject {
  if (!isObject(body)) throw new ValidationError('Request body must be a JSON object');
  return body;
}

function unknownKeys(body: JsonObject, allowed: readonly string[], problems: Problems): void {
  const unknown = Object.keys(body).filter((key) => !allowed.includes(key));
  if (unknown.length > 0) problems.add(`Unknown field(s): ${quoted(unknown)}`);
}

/**
 * The name as stored: trimmed of nothing (CF keeps names as given), in NFC, and free of the
 * characters no name of ours may hold (core/domain/schemas.ts).
 */
function name(value: unknown, required: boolean, problems: Problems): string | undefined {
  if (value === undefined || (value === null && required)) {
    if (required) problems.add("Name can't be blank");
    return undefined;
  }
  if (typeof value !== 'string') {
    problems.add('Name must be a string');
    return undefined;
  }
  if (value.trim() === '') {
    problems.add(required ? "Name can't be blank" : 'Name is too short (minimum is 1 character)');
    return undefined;
  }
  const refused = refusedNameCharacters(value);
  if (refused) {
    problems.add(`Name ${refused}`);
    return undefined;
  }
  const normalized = value.normalize('NFC');
  if ([...normalized].length > MAX_NAME_LENGTH) {
    problems.add(`Name is too long (maximum is ${MAX_NAME_LENGTH} characters)`);
    return undefined;
  }
  return normalized;
}

function globallyEnabled(value: unknown, problems: Problems): Partial<GloballyEnabled> | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isObject(value)) {
    problems.add('Globally enabled must be an object');
    return undefined;
  }
  if (Object.keys(value).some((key) => key !== 'running' && key !== 'staging')) {
    problems.add("Globally enabled only allows keys 'running' or 'staging'");
    return undefined;
  }
  if (Object.values(value).some((flag) => typeof flag !== 'boolean')) {
    problems.add('Globally enabled values must be booleans');
    return undefined;
  }
  const { running, staging } = value;
  return {
    ...(typeof running === 'boolean' ? { running } : {}),
    ...(typeof staging === 'boolean' ? { staging } : {}),
  };
}

function rules(value: unknown, problems: Problems): SecurityGroupRule[] | undefined {
  if (value === undefined) return undefined;
  try {
    return decodeSecurityGroupRules(value);
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    problems.add(error.message);
    return undefined;
  }
}

/** A space or organisation guid: a CF GUID (lower-cased) or, on non-CF platforms, an identifier. */
function targetGuid(value: unknown, format: SourceIdFormat): string | undefined {
  if (typeof value !== 'string') return undefined;
  if (format === 'guid') return GUID_PATTERN.test(value) ? value.toLowerCase() : undefined;
  return z.safeParse(identifierSchema, value).success ? value : undefined;
}

/** `{"data": [{"guid": ...}, ...]}`, CF's to-many relationship; the guids, deduplicated, in order. */
function toManyGuids(value: unknown, label: string, format: SourceIdFormat, problems: Problems): string[] {
  const data = isObject(value) ? value.data : undefined;
  if (!isObject(value) || !Array.isArray(data) || Object.keys(value).some((key) => key !== 'data')) {
    problems.add(`${label} must be structured like this: "${label}": {"data": [{"guid": "valid-guid"}]}`);
    return [];
  }
  const guids: string[] = [];
  for (const [index, entry] of data.entries()) {
    const guid = isObject(entry) && Object.keys(entry).length === 1 ? targetGuid(entry.guid, format) : undefined;
    if (guid === undefined) {
      const expected = format === 'guid' ? 'a GUID' : 'an identifier (letters, digits, ".", "_", ":" or "-")';
      problems.add(`${label} data[${index}] must be {"guid": ...} with ${expected}`);
    } else if (!guids.includes(guid)) guids.push(guid);
  }
  return guids;
}

export function decodeCreateBody(body: unknown, format: SourceIdFormat): SecurityGroupInput {
  const fields = object(body);
  const problems = new Problems();
  unknownKeys(fields, CREATE_KEYS, problems);
  const groupName = name(fields.name, true, problems);
  const enabled = globallyEnabled(fields.globally_enabled, problems);
  const groupRules = rules(fields.rules, problems);
  const relationships = fields.relationships;
  const bound = (key: string): string[] => {
    if (!isObject(relationships) || relationships[key] === undefined) return [];
    return toManyGuids(relationships[key], `Relationships ${key}`, format, problems);
  };
  if (relationships !== undefined && !isObject(relationships))
    problems.add("Relationships 'relationships' is not an object");
  if (isObject(relationships)) unknownKeys(relationships, RELATIONSHIP_KEYS, problems);
  const bindings = {
    running: { space: bound('running_spaces'), organization: bound('running_organizations') },
    staging: { space: bound('staging_spaces'), organization: bound('staging_organizations') },
  };
  problems.throwIfAny();
  return {
    name: groupName ?? '',
    globallyEnabled: { running: enabled?.running ?? false, staging: enabled?.staging ?? false },
    rules: groupRules ?? [],
    bindings,
  };
}

export function decodeUpdateBody(body: unknown): SecurityGroupUpdate {
  const fields = object(body);
  const problems = new Problems();
  unknownKeys(fields, UPDATE_KEYS, problems);
  const groupName = fields.name === undefined ? undefined : name(fields.name, false, problems);
  const enabled = globallyEnabled(fields.globally_enabled, problems);
  const groupRules = rules(fields.rules, problems);
  problems.throwIfAny();
  return {
    ...(groupName === undefined ? {} : { name: groupName }),
    ...(enabled === undefined ? {} : { globallyEnabled: enabled }),
    ...(groupRules === undefined ? {} : { rules: groupRules }),
  };
}

/** The body of a bind: `{"data": [{"guid": ...}]}`, at least one. */
export function decodeRelationshipBody(body: unknown, format: SourceIdFormat): string[] {
  const problems = new Problems();
  const guids = toManyGuids(object(body), 'Data', format, problems);
  // CF's ToManyRelationshipMessage: `data` must be present, and an empty list is blank.
  if (guids.length === 0) problems.add("Data can't be blank");
  problems.throwIfAny();
  return guids;
}

/** A bound space's or organisation's guid from the path, as a bind would have stored it. */
export function pathTargetGuid(value: string | undefined, format: SourceIdFormat): string | undefined {
  return targetGuid(value, format);
}
