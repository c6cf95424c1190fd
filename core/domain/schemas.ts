// The one place the policy model is defined. The API validates requests with the *input* schemas,
// the agent validates the policies file with the *document* schemas; both share the rules below,
// so widening the model (more ranges, CIDR, `all`, a platform-wide source) is a change here only.
import * as z from 'zod/mini';
import { ipv4ToNumber, isIpv4 } from './ipv4.js';
import { zodEnglish } from './validation.js';

export const PROTOCOLS = ['tcp', 'udp', 'icmp'] as const;
/** `default`: every app (CF's last policy server), a source without an id. */
export const SOURCE_TYPES = ['app', 'space', 'default'] as const;
/** Which workloads a policy applies to (CF's `app_lifecycle`); `all` when absent, as in CF. */
export const APP_LIFECYCLES = ['running', 'staging', 'all'] as const;
/**
 * What the API accepts as a policy source's id: `guid`, the app's or space's GUID as Cloud Foundry
 * prints it (the default), or `identifier`, any id of the identifier alphabet (non-CF platforms).
 * A deployment setting (lambdas/api/settings.ts); the agent accepts any identifier either way.
 */
export const SOURCE_ID_FORMATS = ['guid', 'identifier'] as const;
/** CF supports one IP range and one port range per destination today. */
export const MAX_IP_RANGES = 1;
export const MAX_PORT_RANGES = 1;
/** ICMP type/code wildcard, as in CF. */
export const ICMP_ANY = -1;
/**
 * Largest bulk request. Every bulk write is one DynamoDB transaction (at most 100 items); the worst
 * case is three items per entry plus the version record: 3 × 33 + 1 = 100.
 */
export const MAX_ITEMS_PER_REQUEST = 33;

/** Identifiers we hand out or accept (GUIDs in practice): a safe alphabet, never free text. */
const IDENTIFIER_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
// Control characters in names would corrupt logs and terminals that print them.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching them is the point
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;

/** A CF GUID: 8-4-4-4-12 hexadecimal digits, either case (CF prints them in lower case). */
export const GUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Characters a name may not hold anywhere, even at its ends (U+FEFF would be trimmed silently):
 * an unpaired surrogate (not text; it cannot be stored as UTF-8 and compares unlike anything
 * typed), C1 controls, and the zero-width and bidi formatting characters that make two names look
 * alike or reorder what a terminal shows. C0 controls are refused after trimming, as before.
 */
const REFUSED_IN_NAMES: readonly { readonly pattern: RegExp; readonly what: string }[] = [
  { pattern: /\p{Cs}/u, what: 'an unpaired surrogate' },
  { pattern: /[\u0080-\u009f]/, what: 'C1 control characters' },
  {
    pattern: /[\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/,
    what: 'zero-width or bidirectional formatting characters',
  },
];

/** `U+200B` for the first character of `text` (a lone surrogate is one code unit). */
function codePointName(text: string): string {
  return `U+${(text.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;
}

/** What makes a name unusable anywhere in it (REFUSED_IN_NAMES, C0 controls), or undefined. */
export function refusedNameCharacters(name: string): string | undefined {
  for (const { pattern, what } of REFUSED_IN_NAMES) {
    const found = pattern.exec(name);
    if (found) return `must not contain ${what} (${codePointName(found[0])})`;
  }
  return CONTROL_CHARACTERS.test(name) ? 'must not contain control characters' : undefined;
}

/** True for a string that could be one of our ids; anything else cannot name a stored object. */
export function isIdentifier(value: string): boolean {
  return IDENTIFIER_PATTERN.test(value);
}

const required =
  (expected: string) =>
  (issue: { input?: unknown }): string =>
    issue.input === undefined ? 'is required' : `must be ${expected}`;

/** An id of ours or a CF GUID; the agent's container-store schema uses it for app and space ids. */
export const identifierSchema = z
  .string({ error: required('a string') })
  .check(z.regex(IDENTIFIER_PATTERN, 'must be 1-128 characters of letters, digits, ".", "_", ":" or "-"'));

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

export function isSourceIdFormat(value: string): value is SourceIdFormat {
  return SOURCE_ID_FORMATS.some((format) => format === value);
}

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
export type SourceIdFormat = (typeof SOURCE_ID_FORMATS)[number];
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
