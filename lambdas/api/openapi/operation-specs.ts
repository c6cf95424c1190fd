// What the OpenAPI document says of each route beyond routes.ts: a summary, the request body's
// schema and the success responses with theirs. Every schema is one the code has (the handlers'
// request schemas, the response schemas beside the types they describe); none is written here as
// JSON Schema. Error responses are the same for every route of an API family (document.ts).
import * as z from 'zod/mini';
import { cellListSchema, destinationListSchema } from '../../../core/domain/response-schemas.js';
import {
  createDestinationsBodySchema,
  createEgressPoliciesBodySchemas,
  destinationDocumentSchema,
  egressPolicyDocumentSchema,
  egressPolicyListSchema,
  type SourceIdFormat,
  updateDestinationsBodySchema,
} from '../../../core/domain/schemas.js';
import { explainQuerySchema } from '../explain-query.js';
import type { RouteName } from '../routes.js';
import {
  createSecurityGroupBodySchema,
  jobResourceSchema,
  relationshipResourceSchema,
  securityGroupListSchema,
  securityGroupResourceSchema,
  securityGroupRuleSchema,
  toManyRelationshipSchema,
  updateSecurityGroupBodySchema,
} from '../v3/security-group-schemas.js';
import { explainResponseSchema } from './explain-schema.js';

export interface ResponseSpec {
  readonly description: string;
  /** The JSON body; absent: the response has none. */
  readonly schema?: z.core.$ZodType;
  /** Response headers worth naming, with what they hold. */
  readonly headers?: Readonly<Record<string, string>>;
}

export interface OperationSpec {
  readonly summary: string;
  readonly description?: string;
  readonly requestBody?: z.core.$ZodType;
  /** The query parameters' schema (an object of strings), for their types and which are required. */
  readonly query?: z.core.$ZodType;
  /** The success responses by status code. */
  readonly responses: Readonly<Record<number, ResponseSpec>>;
}

/** The OpenAPI document, as far as a client relies on it (the rest is OpenAPI 3.1's own schema). */
const openApiDocumentSchema = z.looseObject({ openapi: z.string(), info: z.looseObject({}), paths: z.looseObject({}) });

/**
 * Schemas by the name they have under components/schemas; the document refers to them (and to
 * them inside other schemas) by that name. A route's other schemas are named after the route.
 */
export const NAMED_SCHEMAS: Readonly<Record<string, z.core.$ZodType>> = {
  Destination: destinationDocumentSchema,
  DestinationList: destinationListSchema,
  EgressPolicy: egressPolicyDocumentSchema,
  EgressPolicyList: egressPolicyListSchema,
  CellList: cellListSchema,
  SecurityGroupRule: securityGroupRuleSchema,
  SecurityGroup: securityGroupResourceSchema,
  SecurityGroupList: securityGroupListSchema,
  ToManyRelationship: toManyRelationshipSchema,
  Relationship: relationshipResourceSchema,
  Job: jobResourceSchema,
  Explanation: explainResponseSchema,
  OpenApiDocument: openApiDocumentSchema,
};

const destinations = (description: string): ResponseSpec => ({ description, schema: destinationListSchema });
const policies = (description: string): ResponseSpec => ({ description, schema: egressPolicyListSchema });
const group = (description: string): ResponseSpec => ({ description, schema: securityGroupResourceSchema });
const groups = (description: string): ResponseSpec => ({ description, schema: securityGroupListSchema });

/**
 * Every route's spec: a route missing here fails to compile. `sourceIds` is the deployment's
 * setting: which policy sources POST /egress_policies accepts.
 */
export function operationSpecs(sourceIds: SourceIdFormat): Readonly<Record<RouteName, OperationSpec>> {
  return {
    'list-destinations': {
      summary: 'List destinations',
      description: '`id` or `name` (one of them): comma-separated values, a destination matches one.',
      responses: { 200: destinations('The destinations.') },
    },
    'create-destinations': {
      summary: 'Create destinations',
      requestBody: createDestinationsBodySchema,
      responses: { 201: destinations('The destinations, with the ids they were given.') },
    },
    'update-destinations': {
      summary: 'Replace destinations',
      requestBody: updateDestinationsBodySchema,
      responses: { 200: destinations('The destinations as stored.') },
    },
    'delete-destination': {
      summary: 'Delete a destination no policy uses',
      responses: { 200: destinations('The deleted destination.') },
    },
    'list-egress-policies': {
      summary: 'List egress policies',
      description: 'Each filter is comma-separated; a policy matches one value of each filter given.',
      responses: { 200: policies('The policies, each with its destination.') },
    },
    'create-egress-policies': {
      summary: 'Create egress policies',
      requestBody: createEgressPoliciesBodySchemas[sourceIds],
      responses: {
        200: policies('Every policy already existed: nothing was created.'),
        201: policies('The policies, created or already there.'),
      },
    },
    'delete-egress-policy': {
      summary: 'Delete an egress policy',
      responses: { 200: policies('The deleted policy.') },
    },
    'list-cells': {
      summary: 'List the cells and the policy version each enforces',
      responses: {
        200: { description: 'The cells and how far behind the latest version each is.', schema: cellListSchema },
      },
    },
    'list-security-groups': {
      summary: 'List security groups',
      responses: { 200: groups('One page of security groups.') },
    },
    'create-security-group': {
      summary: 'Create a security group',
      requestBody: createSecurityGroupBodySchema,
      responses: { 201: group('The security group.') },
    },
    'get-security-group': {
      summary: 'Get a security group',
      responses: { 200: group('The security group.') },
    },
    'update-security-group': {
      summary: 'Update a security group',
      requestBody: updateSecurityGroupBodySchema,
      responses: { 200: group('The security group after the update.') },
    },
    'delete-security-group': {
      summary: 'Delete a security group',
      responses: {
        202: {
          description: 'Deleted; the job it names is already complete.',
          headers: { location: 'The job to poll (`/v3/jobs/{guid}`).' },
        },
      },
    },
    'bind-security-group': {
      summary: 'Bind a security group to spaces or organisations',
      description: '`{relationship}`: running_spaces, staging_spaces, running_organizations or staging_organizations.',
      requestBody: toManyRelationshipSchema,
      responses: { 200: { description: 'The relationship after the bind.', schema: relationshipResourceSchema } },
    },
    'unbind-security-group': {
      summary: 'Unbind a security group from a space or an organisation',
      responses: { 204: { description: 'Unbound.' } },
    },
    'list-space-security-groups': {
      summary: "List the security groups that apply to a space's running or staging workloads",
      description: '`{list}`: running_security_groups or staging_security_groups.',
      responses: { 200: groups('One page of security groups.') },
    },
    'get-job': {
      summary: 'Get a job',
      responses: { 200: { description: 'The job.', schema: jobResourceSchema } },
    },
    'get-openapi': {
      summary: 'This document',
      responses: { 200: { description: 'The OpenAPI 3.1 description of this API.', schema: openApiDocumentSchema } },
    },
    explain: {
      summary: 'Explain whether a workload may reach an address, and why',
      description:
        'Not part of CF. Plans the rules a cell would program for one container of the app and walks them; ip for tcp, udp and icmp; port for tcp, udp, http and https; icmp_type and icmp_code for icmp only (default 8/0). For http and https, host (the Host header or TLS SNI) instead of ip, and for http method (default GET), path (default /) and headers (a JSON object): whether the cell proxy lets the request through, by which destination and route, or what came close.',
      query: explainQuerySchema,
      responses: { 200: { description: 'The answer and the rules that decide it.', schema: explainResponseSchema } },
    },
  };
}
