// The response schemas describe the types the handlers return: tsc checks that every body of those
// types is one the schema accepts (a field added to a type but not to its schema fails to compile),
// and the API tests check real responses against the OpenAPI document built from them.
import { describe, expectTypeOf, it } from 'vitest';
import type * as z from 'zod/mini';
import type { CellList } from '../../../core/domain/cells.js';
import type { cellListSchema, destinationListSchema } from '../../../core/domain/response-schemas.js';
import type { egressPolicyListSchema } from '../../../core/domain/schemas.js';
import type { DestinationList, EgressPolicyList } from '../../../core/domain/types.js';

describe('response schemas', () => {
  it('accept every body of the types the handlers return', () => {
    expectTypeOf<DestinationList>().toExtend<z.input<typeof destinationListSchema>>();
    expectTypeOf<EgressPolicyList>().toExtend<z.input<typeof egressPolicyListSchema>>();
    expectTypeOf<CellList>().toExtend<z.input<typeof cellListSchema>>();
  });

  it('describe every field of the cell list (one added to CellList alone fails to compile)', () => {
    expectTypeOf<z.output<typeof cellListSchema>>().toExtend<CellList>();
  });
});
