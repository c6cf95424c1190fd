import { updateDestinationsBodySchema } from '../../domain/schemas.js';
import { destinationList } from '../../domain/types.js';
import { parseWith } from '../../domain/validation.js';
import { dependenciesFromEnvironment } from '../../store/from-environment.js';
import { createApiHandler } from '../api-handler.js';
import type { Operation } from '../types.js';

export const updateDestinations: Operation = async (request, { policies }) => {
  const { destinations } = parseWith(updateDestinationsBodySchema, request.body);
  return { statusCode: 200, body: destinationList(await policies.updateDestinations(destinations)) };
};

export const handler = createApiHandler(updateDestinations, dependenciesFromEnvironment);
