import { updateDestinationsBodySchema } from '../../domain/schemas.js';
import { destinationList } from '../../domain/types.js';
import { parseWith } from '../../domain/validation.js';
import { storeFromEnvironment } from '../../store/from-environment.js';
import { createApiHandler } from '../api-handler.js';
import type { Operation } from '../types.js';

export const updateDestinations: Operation = async (request, store) => {
  const { destinations } = parseWith(updateDestinationsBodySchema, request.body);
  return { statusCode: 200, body: destinationList(await store.updateDestinations(destinations)) };
};

export const handler = createApiHandler(updateDestinations, storeFromEnvironment);
