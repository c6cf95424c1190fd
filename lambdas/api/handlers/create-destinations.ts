import { createDestinationsBodySchema } from '../../domain/schemas.js';
import { destinationList } from '../../domain/types.js';
import { parseWith } from '../../domain/validation.js';
import { dependenciesFromEnvironment } from '../../store/from-environment.js';
import { createApiHandler } from '../api-handler.js';
import type { Operation } from '../types.js';

export const createDestinations: Operation = async (request, { policies }) => {
  const { destinations } = parseWith(createDestinationsBodySchema, request.body);
  return { statusCode: 201, body: destinationList(await policies.createDestinations(destinations)) };
};

export const handler = createApiHandler(createDestinations, dependenciesFromEnvironment);
