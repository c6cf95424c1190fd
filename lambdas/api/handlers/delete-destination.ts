import { destinationList } from '../../../core/domain/types.js';
import { storesFromEnvironment } from '../../shared/environment.js';
import { createApiHandler } from '../api-handler.js';
import { pathId } from '../request-helpers.js';
import type { Operation } from '../types.js';

export const deleteDestination: Operation = async (request, { policies }) => {
  const deleted = await policies.deleteDestination(pathId(request, 'destination'));
  return { statusCode: 200, body: destinationList([deleted]) };
};

export const handler = createApiHandler(deleteDestination, storesFromEnvironment);
