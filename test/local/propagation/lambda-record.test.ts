// DynamoDB Local's stream records, as the SDK reads them, turned into what Lambda hands the fan-out.
import { describe, expect, it } from 'vitest';
import { lambdaAttribute, toLambdaRecord } from '../../../local/propagation/lambda-record.js';

describe('toLambdaRecord', () => {
  it('gives every attribute type as Lambda does: binary as base64 text, nested lists and maps converted', () => {
    const record = toLambdaRecord(
      {
        eventID: 'e-1',
        eventName: 'MODIFY',
        dynamodb: {
          ApproximateCreationDateTime: new Date('2026-12-05T05:00:00.500Z'),
          Keys: { pk: { S: 'META' }, sk: { S: 'VERSION' } },
          NewImage: {
            version: { N: '42' },
            blob: { B: Uint8Array.from([0, 1, 254, 255]) },
            blobs: { BS: [Uint8Array.from([104, 105])] },
            on: { BOOL: false },
            none: { NULL: true },
            names: { SS: ['a', 'b'] },
            counts: { NS: ['1', '2'] },
            changes: { M: { keys: { L: [{ S: 'app#1' }, { M: { deep: { B: Uint8Array.from([7]) } } }] } } },
          },
          SequenceNumber: '100',
          SizeBytes: 64,
          StreamViewType: 'NEW_AND_OLD_IMAGES',
        },
      },
      'arn:aws:dynamodb:local:000000000000:table/t/stream/x',
    );
    expect(record).toEqual({
      eventID: 'e-1',
      eventName: 'MODIFY',
      eventVersion: '1.1',
      eventSource: 'aws:dynamodb',
      awsRegion: 'local',
      eventSourceARN: 'arn:aws:dynamodb:local:000000000000:table/t/stream/x',
      dynamodb: {
        ApproximateCreationDateTime: 1796446800.5,
        Keys: { pk: { S: 'META' }, sk: { S: 'VERSION' } },
        NewImage: {
          version: { N: '42' },
          blob: { B: 'AAH+/w==' },
          blobs: { BS: ['aGk='] },
          on: { BOOL: false },
          none: { NULL: true },
          names: { SS: ['a', 'b'] },
          counts: { NS: ['1', '2'] },
          changes: { M: { keys: { L: [{ S: 'app#1' }, { M: { deep: { B: 'Bw==' } } }] } } },
        },
        SequenceNumber: '100',
        SizeBytes: 64,
        StreamViewType: 'NEW_AND_OLD_IMAGES',
      },
    });
  });

  it('refuses an attribute of a type it does not know', () => {
    expect(() => lambdaAttribute({ $unknown: ['X', 'y'] })).toThrow(/a type Lambda does not know/);
  });
});
