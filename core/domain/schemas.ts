// The one place the policy model is defined (its constants and character rules in
// model-primitives.ts, re-exported here). The API validates requests with the *input* schemas, the
// agent validates the policies file with the *document* schemas; both share the rules below, so
// widening the model (more ranges, CIDR, `all`, a platform-wide source) is a change here only.
import * as z from 'zod/mini';
import { ipv4ToNumber, isIpv4 } from './ipv4.js';
import {
  APP_LIFECYCLES,
  CONTROL_CHARACTERS,
  codePointName,
  GUID_PATTERN,
  ICMP_ANY,
  identifierSchema,
  MAX_IP_RANGES,
  MAX_ITEMS_PER_REQUEST,
  MAX_PORT_RANGES,
  PROTOCOLS,
  REFUSED_IN_NAMES,
  required,
  SOURCE_TYPES,
  type SourceIdFormat,
} from './model-primitives.js';
import { zodEnglish } from './validation.js';

export {
  APP_LIFECYCLES,
  GUID_PATTERN,
  ICMP_ANY,
  identifierSchema,
  isIdentifier,
  isSourceIdFormat,
  MAX_IP_RANGES,
  MAX_ITEMS_PER_REQUEST,
  MAX_PORT_RANGES,
  PROTOCOLS,
  refusedNameCharacters,
  SOURCE_ID_FORMATS,
  SOURCE_TYPES,
  type SourceIdFormat,
} from './model-primitives.js';

const ipv4 = z.string({ error: required('an IPv4 address string') }).check(z.refine(isIpv4, 'must be an IPv4 address'));

/** An integer in [min, max]; `z.int(...)` used as a check is what classic zod's `.int(...)` adds. */
function integerBetween(min: number, max: number) {
  const range = `must be between ${min} and ${max}`;
  return z
    .number({ error: required('an integer') })
    .check(z.int('must be an integer'), z.gte(min, range), z.lte(max, range));
}

const port = integerBetween(1, 65535);

/** Type 255 is the kernel's "any type" wildcard: accepting it would silently widen a policy. */
const icmpType = integerBetween(ICMP_ANY, 254);
const icmpCode = integerBetween(ICMP_ANY, 255);

export const ipRangeSchema = z
  .strictObject({ start: ipv4, end: ipv4 }, { error: required('an object with start and end') })
  .check(
    // Refinements may run on partly invalid input, so compare only well-formed addresses.
    z.refine(
      (range) => !isIpv4(range.start) || !isIpv4(range.end) || ipv4ToNumber(range.start) <= ipv4ToNumber(range.end),
      { message: 'must not be greater than end', path: ['start'] },
    ),
  );

export const portRangeSchema = z
  .strictObject({ start: port, end: port }, { error: required('an object with start and end') })
  .check(z.refine((range) => !(range.start > range.end), { message: 'must not be greater than end', path: ['start'] }));

const NAME_LENGTH_CHECKS = [
  z.minLength(1, 'must not be empty'),
  z.maxLength(255, 'must be at most 255 characters'),
  z.refine<string>((name) => !CONTROL_CHARACTERS.test(name), 'must not contain control characters'),
] as const;

/**
 * Names as documents carry them (the agent, snapshots): the rules names were stored under, so a
 * name stored before the stricter input rules below still reads.
 */
const destinationNameSchema = z.string({ error: required('a string') }).check(z.trim(), ...NAME_LENGTH_CHECKS);

/**
 * Names as the API takes them: no refused character (REFUSED_IN_NAMES), trimmed, and in Unicode
 * NFC, so that two spellings of one name (`é` as one code point or as `e` + U+0301) are stored,
 * compared for uniqueness and found as one.
 */
const refuseInvisibleCharacters = z.superRefine((text: string, ctx) => {
  for (const { pattern, what } of REFUSED_IN_NAMES) {
    const found = pattern.exec(text);
    if (found) {
      ctx.addIssue({ code: 'custom', input: text, message: `must not contain ${what} (${codePointName(found[0])})` });
    }
  }
});

const destinationNameInputSchema = z
  .string({ error: required('a string') })
  .check(refuseInvisibleCharacters, z.trim(), z.normalize('NFC'), ...NAME_LENGTH_CHECKS);

/** True for a string that could be a stored destination name (names are stored trimmed). */
export function isDestinationName(value: string): boolean {
  return value === value.trim() && z.safeParse(destinationNameSchema, value).success;
}

const DESCRIPTION_CHECKS = [
  z.maxLength(1024, 'must be at most 1024 characters'),
  z.refine<string>(
    (text) => !CONTROL_CHARACTERS.test(text.replace(/[\n\t]/g, ' ')),
    'must not contain control characters',
  ),
] as const;

/**
 * Descriptions as the API takes them: like names, nothing that hides or reorders what a person
 * reads (bidirectional overrides, zero-width characters); stored ones read as they were written.
 */
const destinationDescriptionInputSchema = z.optional(
  z.string({ error: required('a string') }).check(refuseInvisibleCharacters, ...DESCRIPTION_CHECKS),
);

const destinationDocumentFields = {
  name: destinationNameSchema,
  description: z.optional(z.string({ error: required('a string') }).check(...DESCRIPTION_CHECKS)),
  ips: z
    .array(ipRangeSchema, { error: required('an array of IP ranges') })
    .check(
      z.minLength(1, 'must hold at least one IP range'),
      z.maxLength(MAX_IP_RANGES, `must hold at most ${MAX_IP_RANGES} IP range(s)`),
    ),
  ports: z.optional(
    z
      .array(portRangeSchema, { error: required('an array of port ranges') })
      .check(z.maxLength(MAX_PORT_RANGES, `must hold at most ${MAX_PORT_RANGES} port range(s)`)),
  ),
  protocol: z.enum(PROTOCOLS, { error: required('one of tcp, udp, icmp') }),
  icmp_type: z.optional(icmpType),
  icmp_code: z.optional(icmpCode),
};

/** The same fields with the stricter rules for names the API is given. */
const destinationFields = {
  ...destinationDocumentFields,
  name: destinationNameInputSchema,
  description: destinationDescriptionInputSchema,
};

type DestinationFields = z.output<z.ZodMiniObject<typeof destinationDocumentFields>>;

/** Protocol-dependent rules, shared by every destination schema. */
function checkProtocolRules(destination: DestinationFields, ctx: z.core.$RefinementCtx<DestinationFields>): void {
  if (destination.protocol === 'icmp') {
    if (destination.ports !== undefined && destination.ports.length > 0) {
      ctx.addIssue({ code: 'custom', path: ['ports'], message: 'must be omitted for protocol icmp' });
    }
    if ((destination.icmp_type ?? ICMP_ANY) === ICMP_ANY && (destination.icmp_code ?? ICMP_ANY) !== ICMP_ANY) {
      ctx.addIssue({ code: 'custom', path: ['icmp_code'], message: 'needs an icmp_type other than -1' });
    }
    return;
  }
  if (destination.ports === undefined || destination.ports.length === 0) {
    ctx.addIssue({
      code: 'custom',
      path: ['ports'],
      message: `is required for protocol ${destination.protocol}: one port range`,
    });
  }
  for (const field of ['icmp_type', 'icmp_code'] as const) {
    if (destination[field] !== undefined) {
      ctx.addIssue({ code: 'custom', path: [field], message: `is only allowed for protocol icmp` });
    }
  }
}

/** A validated destination in its canonical form: icmp has no ports and explicit type/code. */
export interface DestinationSpec {
  name: string;
  description?: string;
  ips: IpRange[];
  ports: PortRange[];
  protocol: Protocol;
  icmp_type?: number;
  icmp_code?: number;
}

function canonical(destination: DestinationFields): DestinationSpec {
  const spec: DestinationSpec = {
    name: destination.name,
    ips: destination.ips,
    ports: destination.protocol === 'icmp' ? [] : (destination.ports ?? []),
    protocol: destination.protocol,
  };
  if (destination.description !== undefined) spec.description = destination.description;
  if (destination.protocol === 'icmp') {
    spec.icmp_type = destination.icmp_type ?? ICMP_ANY;
    spec.icmp_code = destination.icmp_code ?? ICMP_ANY;
  }
  return spec;
}

const destinationsArray = <T extends z.core.$ZodType>(item: T) =>
  z
    .array(item, { error: required('an array') })
    .check(
      z.minLength(1, 'must hold at least one destination'),
      z.maxLength(MAX_ITEMS_PER_REQUEST, `must hold at most ${MAX_ITEMS_PER_REQUEST} destinations per request`),
    );

export const destinationInputSchema = z.pipe(
  z.strictObject(destinationFields, { error: required('an object') }).check(z.superRefine(checkProtocolRules)),
  z.transform(canonical),
);

export const destinationUpdateSchema = z.pipe(
  z
    .strictObject({ id: identifierSchema, ...destinationFields }, { error: required('an object') })
    .check(z.superRefine(checkProtocolRules)),
  z.transform((destination: DestinationFields & { id: string }) => ({ id: destination.id, ...canonical(destination) })),
);

export const createDestinationsBodySchema = z.strictObject(
  { destinations: destinationsArray(destinationInputSchema) },
  { error: required('a JSON object') },
);

export const updateDestinationsBodySchema = z.strictObject(
  { destinations: destinationsArray(destinationUpdateSchema) },
  { error: required('a JSON object') },
);

/** A CF GUID, in lower case as CF prints it, so `ABC…` and `abc…` are one source. */
const guidSchema = z.pipe(
  z
    .string({ error: required('a string') })
    .check(
      z.regex(GUID_PATTERN, 'must be a GUID (8-4-4-4-12 hexadecimal digits, as `cf app <name> --guid` prints it)'),
    ),
  z.transform((guid: string) => guid.toLowerCase()),
);

const SOURCE_ID_SCHEMAS = { guid: guidSchema, identifier: identifierSchema } as const;

/**
 * `{type, id}`; `type` defaults to `app`. A `default` source (every app) has no id: one given is
 * refused, as CF does; it reads back with the id ''.
 */
function policySourceSchemaFor<F extends SourceIdFormat>(format: F) {
  return z.pipe(
    z
      .strictObject(
        {
          type: z._default(z.enum(SOURCE_TYPES, { error: required('one of app, space, default') }), 'app'),
          id: z.optional(SOURCE_ID_SCHEMAS[format]),
        },
        { error: required('an object with type and id') },
      )
      .check(
        z.superRefine((source, ctx) => {
          if (source.type === 'default' && source.id !== undefined) {
            ctx.addIssue({
              code: 'custom',
              path: ['id'],
              input: source.id,
              message: 'must be absent for source type default',
            });
          }
          if (source.type !== 'default' && source.id === undefined) {
            ctx.addIssue({ code: 'custom', path: ['id'], input: undefined, message: 'is required' });
          }
        }),
      ),
    z.transform((source) => ({ type: source.type, id: source.id ?? '' })),
  );
}

function createEgressPoliciesBodySchemaFor<F extends SourceIdFormat>(format: F) {
  const policy = z.strictObject(
    {
      source: policySourceSchemaFor(format),
      destination: z.strictObject({ id: identifierSchema }, { error: required('an object with id') }),
      app_lifecycle: z._default(z.enum(APP_LIFECYCLES, { error: required('one of running, staging, all') }), 'all'),
    },
    { error: required('an object') },
  );
  return z.strictObject(
    {
      egress_policies: z
        .array(policy, { error: required('an array') })
        .check(
          z.minLength(1, 'must hold at least one egress policy'),
          z.maxLength(MAX_ITEMS_PER_REQUEST, `must hold at most ${MAX_ITEMS_PER_REQUEST} egress policies per request`),
        ),
    },
    { error: required('a JSON object') },
  );
}

/** The body of POST /egress_policies, by the deployment's source id format (lambdas/api/settings.ts). */
export const createEgressPoliciesBodySchemas = {
  guid: createEgressPoliciesBodySchemaFor('guid'),
  identifier: createEgressPoliciesBodySchemaFor('identifier'),
} as const;

/** The default: sources are CF GUIDs. */
export const createEgressPoliciesBodySchema = createEgressPoliciesBodySchemas.guid;

// Documents as the API returns them; the agent reads these. Unknown keys are dropped, not
// rejected, so an older agent keeps working when the API grows a field it does not use.
// Their type errors keep zod's English text (`zodEnglish`), as they read before zod/mini.
export const destinationDocumentSchema = z.pipe(
  z
    .object({ id: identifierSchema, ...destinationDocumentFields }, { error: zodEnglish })
    .check(z.superRefine(checkProtocolRules)),
  z.transform((destination: DestinationFields & { id: string }) => ({ id: destination.id, ...canonical(destination) })),
);

// The agent reads sources with identifierSchema whatever the API's source id format: the setting
// is the API's, and a document is never refused for an id the API once accepted.
// `app_lifecycle` `all` (or absent) reads as absent: the one form EgressPolicy has for it.
export const egressPolicyDocumentSchema = z.pipe(
  z.object(
    {
      id: identifierSchema,
      source: z
        .object(
          {
            type: z.enum(SOURCE_TYPES, { error: required('one of app, space, default') }),
            id: z.union([z.literal(''), identifierSchema], { error: zodEnglish }),
          },
          { error: zodEnglish },
        )
        .check(
          z.refine((source) => (source.type === 'default') === (source.id === ''), {
            message: 'a default source, and only it, has the id ""',
            path: ['id'],
          }),
        ),
      destination: destinationDocumentSchema,
      app_lifecycle: z.optional(z.enum(APP_LIFECYCLES, { error: required('one of running, staging, all') })),
    },
    { error: zodEnglish },
  ),
  z.transform(({ app_lifecycle, ...policy }) =>
    app_lifecycle === undefined || app_lifecycle === 'all' ? policy : { ...policy, app_lifecycle },
  ),
);

export const egressPolicyListSchema = z
  .object(
    {
      total_egress_policies: z.number({ error: required('an integer') }).check(z.int('must be an integer')),
      egress_policies: z.array(egressPolicyDocumentSchema, { error: required('an array') }),
    },
    { error: zodEnglish },
  )
  .check(
    z.refine((list) => list.total_egress_policies === list.egress_policies.length, {
      message: 'must equal the number of egress_policies',
      path: ['total_egress_policies'],
    }),
  );

export type Protocol = (typeof PROTOCOLS)[number];
export type SourceType = (typeof SOURCE_TYPES)[number];
export type IpRange = z.output<typeof ipRangeSchema>;
export type PortRange = z.output<typeof portRangeSchema>;
export type DestinationUpdate = z.output<typeof destinationUpdateSchema>;
export type PolicySource = z.output<ReturnType<typeof policySourceSchemaFor>>;
export type AppLifecycle = (typeof APP_LIFECYCLES)[number];
/** A policy to create; `app_lifecycle` absent means `all` (the API always fills it in). */
export type EgressPolicyInput = Omit<
  z.output<typeof createEgressPoliciesBodySchema>['egress_policies'][number],
  'app_lifecycle'
> & { readonly app_lifecycle?: AppLifecycle };
