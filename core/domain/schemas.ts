// The one place the policy model is defined (its constants and character rules in
// model-primitives.ts, re-exported here). The API validates requests with the *input* schemas, the
// agent validates the policies file with the *document* schemas; both share the rules below, so
// widening the model (more ranges, CIDR, `all`, a platform-wide source) is a change here only.
import * as z from 'zod/mini';
import { hostNameProblem, isWildcardHost, lowerAscii, MAX_HOST_NAME_LENGTH } from './host-names.js';
import {
  HTTP_METHODS,
  type HttpRoute,
  headerNameProblem,
  headerValueProblem,
  MAX_HEADER_VALUE_LENGTH,
  MAX_ROUTE_HEADERS,
  MAX_ROUTES,
} from './http-routes.js';
import { ipv4ToNumber, isIpv4 } from './ipv4.js';
import {
  APP_LIFECYCLES,
  CONTROL_CHARACTERS,
  codePointName,
  GUID_PATTERN,
  ICMP_ANY,
  identifierSchema,
  isLayer7Protocol,
  type LAYER7_PROTOCOLS,
  MAX_HOSTS,
  MAX_IP_RANGES,
  MAX_ITEMS_PER_REQUEST,
  MAX_PORT_RANGES,
  type PACKET_PROTOCOLS,
  PROTOCOLS,
  REFUSED_IN_NAMES,
  required,
  SOURCE_TYPES,
  type SourceIdFormat,
} from './model-primitives.js';
import { MAX_PATH_REGEX_LENGTH, pathRegexProblem } from './path-regex.js';
import { zodEnglish } from './validation.js';

export {
  APP_LIFECYCLES,
  GUID_PATTERN,
  ICMP_ANY,
  identifierSchema,
  isIdentifier,
  isLayer7Protocol,
  isSourceIdFormat,
  LAYER7_PROTOCOLS,
  MAX_HOSTS,
  MAX_IP_RANGES,
  MAX_ITEMS_PER_REQUEST,
  MAX_PORT_RANGES,
  PACKET_PROTOCOLS,
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

/** A check from a function that names what is wrong with a value (or returns undefined). */
const problemCheck = (problemOf: (value: string) => string | undefined) =>
  z.superRefine((value: string, ctx) => {
    const problem = problemOf(value);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', input: value, message: problem });
  });

/**
 * A host name (host-names.ts). The API lowers ASCII letters first (DNS names have no case, and a
 * name is stored, compared and sent in lower case); documents must hold the stored form.
 */
const hostLength = z.maxLength(MAX_HOST_NAME_LENGTH, {
  message: `must be at most ${MAX_HOST_NAME_LENGTH} characters`,
  abort: true,
});
const hostInputSchema = z
  .string({ error: required('a host name string') })
  .check(hostLength, z.overwrite(lowerAscii), problemCheck(hostNameProblem));
const hostDocumentSchema = z
  .string({ error: required('a host name string') })
  .check(hostLength, problemCheck(hostNameProblem));

const hostsSchema = (host: typeof hostInputSchema) =>
  z.optional(
    z
      .array(host, { error: required('an array of host names') })
      .check(z.maxLength(MAX_HOSTS, `must hold at most ${MAX_HOSTS} host names`)),
  );

/**
 * Header names, checked on the object as it came: zod's record leaves a `__proto__` key out of
 * what it builds, and a header condition dropped without a word would let the route match more
 * than it says. (A transform, so that the OpenAPI document shows the record below.)
 */
const headerNamesCheck = z.transform((value: unknown, ctx) => {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  for (const name of Object.keys(value)) {
    const problem = headerNameProblem(name);
    if (problem !== undefined)
      ctx.issues.push({ code: 'custom', input: name, path: [name], message: `name ${problem}` });
  }
  return value;
});

/** Header values that must match exactly (http-routes.ts); names in lower case, as HTTP/2 writes them. */
const routeHeadersSchema = z.pipe(
  headerNamesCheck,
  z
    .record(
      z.string(),
      z.string({ error: required('a string') }).check(
        z.maxLength(MAX_HEADER_VALUE_LENGTH, {
          message: `must be at most ${MAX_HEADER_VALUE_LENGTH} characters`,
          abort: true,
        }),
        problemCheck(headerValueProblem),
      ),
      { error: required('an object of header names and values') },
    )
    .check(
      z.superRefine((headers: Record<string, string>, ctx) => {
        const count = Object.keys(headers).length;
        if (count === 0) {
          ctx.addIssue({
            code: 'custom',
            input: headers,
            message: 'must name at least one header (omit it to match any)',
          });
        }
        if (count > MAX_ROUTE_HEADERS) {
          ctx.addIssue({ code: 'custom', input: headers, message: `must name at most ${MAX_ROUTE_HEADERS} headers` });
        }
      }),
    ),
);

const methodsSchema = z
  .array(z.enum(HTTP_METHODS, { error: required(`one of ${HTTP_METHODS.join(', ')}`) }), {
    error: required('an array of methods'),
  })
  .check(
    z.minLength(1, 'must hold at least one method (omit it to match any)'),
    z.superRefine((methods: string[], ctx) => {
      methods.forEach((method, index) => {
        if (methods.indexOf(method) !== index) {
          ctx.addIssue({ code: 'custom', path: [index], input: method, message: `repeats ${method}` });
        }
      });
    }),
  );

/** One route of an http destination: every field given must hold; absent ones match anything. */
const routeSchema = z.strictObject(
  {
    methods: z.optional(methodsSchema),
    path_regex: z.optional(
      z.string({ error: required('a string') }).check(
        z.maxLength(MAX_PATH_REGEX_LENGTH, {
          message: `must be at most ${MAX_PATH_REGEX_LENGTH} characters`,
          abort: true,
        }),
        problemCheck(pathRegexProblem),
      ),
    ),
    headers: z.optional(routeHeadersSchema),
  },
  { error: required('an object') },
);

/** An http destination's routes; a security-group rule by host name carries them too (snapshot-groups.ts). */
export const httpRouteListSchema = z
  .array(routeSchema, { error: required('an array of routes') })
  .check(z.maxLength(MAX_ROUTES, `must hold at most ${MAX_ROUTES} routes`));

const routesSchema = z.optional(httpRouteListSchema);

const destinationDocumentFields = {
  name: destinationNameSchema,
  description: z.optional(z.string({ error: required('a string') }).check(...DESCRIPTION_CHECKS)),
  // At least one range unless the destination has hosts (checkProtocolRules).
  ips: z.optional(
    z
      .array(ipRangeSchema, { error: required('an array of IP ranges') })
      .check(z.maxLength(MAX_IP_RANGES, `must hold at most ${MAX_IP_RANGES} IP range(s)`)),
  ),
  hosts: hostsSchema(hostDocumentSchema),
  ports: z.optional(
    z
      .array(portRangeSchema, { error: required('an array of port ranges') })
      .check(z.maxLength(MAX_PORT_RANGES, `must hold at most ${MAX_PORT_RANGES} port range(s)`)),
  ),
  protocol: z.enum(PROTOCOLS, { error: required(`one of ${PROTOCOLS.join(', ')}`) }),
  icmp_type: z.optional(icmpType),
  icmp_code: z.optional(icmpCode),
  routes: routesSchema,
};

/** The same fields with the stricter rules for names the API is given, and host names lowered. */
const destinationFields = {
  ...destinationDocumentFields,
  name: destinationNameInputSchema,
  description: destinationDescriptionInputSchema,
  hosts: hostsSchema(hostInputSchema),
};

type DestinationFields = z.output<z.ZodMiniObject<typeof destinationDocumentFields>>;

/** `ips` and `hosts`: which a protocol takes, at least one of them, hosts without repeats. */
function checkAddressRules(destination: DestinationFields, ctx: z.core.$RefinementCtx<DestinationFields>): void {
  const { protocol, ips, hosts = [] } = destination;
  const layer7 = isLayer7Protocol(protocol);
  if (layer7) {
    if (ips !== undefined && ips.length > 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['ips'],
        message: `must be omitted for protocol ${protocol}: it is matched by host name`,
      });
    }
    if (hosts.length === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['hosts'],
        message: `is required for protocol ${protocol}: one or more host names`,
      });
    }
  } else if (protocol === 'icmp') {
    if (hosts.length > 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['hosts'],
        message: 'is only allowed for protocols tcp, udp, http and https',
      });
    }
  }
  if (!layer7 && hosts.length === 0) {
    // The messages classic destinations always had.
    if (ips === undefined) ctx.addIssue({ code: 'custom', path: ['ips'], input: undefined, message: 'is required' });
    else if (ips.length === 0)
      ctx.addIssue({ code: 'custom', path: ['ips'], message: 'must hold at least one IP range' });
  }
  hosts.forEach((host, index) => {
    if (hosts.indexOf(host) !== index) {
      ctx.addIssue({ code: 'custom', path: ['hosts', index], message: `repeats ${JSON.stringify(host)}` });
    }
    if (!layer7 && isWildcardHost(host)) {
      ctx.addIssue({
        code: 'custom',
        path: ['hosts', index],
        message: 'may be a wildcard only for protocols http and https (a name is resolved, a pattern cannot be)',
      });
    }
  });
  if (destination.routes !== undefined && destination.routes.length > 0 && protocol !== 'http') {
    ctx.addIssue({ code: 'custom', path: ['routes'], message: 'is only allowed for protocol http' });
  }
}

/** Protocol-dependent rules, shared by every destination schema. */
function checkProtocolRules(destination: DestinationFields, ctx: z.core.$RefinementCtx<DestinationFields>): void {
  checkAddressRules(destination, ctx);
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

/**
 * A validated destination in its canonical form: icmp has no ports and explicit type/code; `ips`
 * is always there (empty for a destination matched by name only); `hosts` and `routes` only when
 * they hold something, so a classic destination has exactly the keys it always had.
 */
export interface DestinationSpec {
  name: string;
  description?: string;
  ips: IpRange[];
  /** Host names (host-names.ts): exact, and for http/https also `*.` wildcards. */
  hosts?: string[];
  ports: PortRange[];
  protocol: Protocol;
  icmp_type?: number;
  icmp_code?: number;
  /** http only: the requests allowed; absent, any request to the hosts. */
  routes?: HttpRoute[];
}

function canonical(destination: DestinationFields): DestinationSpec {
  const spec: DestinationSpec = {
    name: destination.name,
    ips: destination.ips ?? [],
    ports: destination.protocol === 'icmp' ? [] : (destination.ports ?? []),
    protocol: destination.protocol,
  };
  if (destination.description !== undefined) spec.description = destination.description;
  if (destination.hosts !== undefined && destination.hosts.length > 0) spec.hosts = destination.hosts;
  if (destination.protocol === 'icmp') {
    spec.icmp_type = destination.icmp_type ?? ICMP_ANY;
    spec.icmp_code = destination.icmp_code ?? ICMP_ANY;
  }
  if (destination.routes !== undefined && destination.routes.length > 0) spec.routes = destination.routes;
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
/** What a packet is (the planner's matches, explain's query). */
export type PacketProtocol = (typeof PACKET_PROTOCOLS)[number];
export type Layer7Protocol = (typeof LAYER7_PROTOCOLS)[number];
export type { HttpMethod, HttpRoute } from './http-routes.js';
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
