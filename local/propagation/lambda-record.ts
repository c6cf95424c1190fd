// A record of DynamoDB Local's stream, as the SDK reads it, in the shape Lambda hands a function:
// binary attributes base64 text instead of bytes, the creation time in epoch seconds, the stream's
// ARN and the event source filled in. Converted field by field, so that the fan-out gets in local
// mode exactly what it gets on AWS.
import type {
  AttributeValue as SdkAttributeValue,
  _Record as SdkRecord,
  StreamRecord as SdkStreamRecord,
} from '@aws-sdk/client-dynamodb-streams';
import type { AttributeValue, DynamoDBRecord, StreamRecord } from 'aws-lambda';

type Image = Record<string, AttributeValue>;

const base64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');

export function lambdaAttribute(value: SdkAttributeValue): AttributeValue {
  if (value.S !== undefined) return { S: value.S };
  if (value.N !== undefined) return { N: value.N };
  if (value.B !== undefined) return { B: base64(value.B) };
  if (value.BOOL !== undefined) return { BOOL: value.BOOL };
  if (value.NULL !== undefined) return { NULL: value.NULL };
  if (value.SS !== undefined) return { SS: [...value.SS] };
  if (value.NS !== undefined) return { NS: [...value.NS] };
  if (value.BS !== undefined) return { BS: value.BS.map(base64) };
  if (value.L !== undefined) return { L: value.L.map(lambdaAttribute) };
  if (value.M !== undefined) return { M: lambdaImage(value.M) };
  throw new Error(`stream record: an attribute of a type Lambda does not know (${Object.keys(value).join(', ')})`);
}

function lambdaImage(image: Record<string, SdkAttributeValue>): Image {
  return Object.fromEntries(Object.entries(image).map(([name, value]) => [name, lambdaAttribute(value)]));
}

function lambdaStreamRecord(record: SdkStreamRecord): StreamRecord {
  return {
    ...(record.ApproximateCreationDateTime === undefined
      ? {}
      : { ApproximateCreationDateTime: record.ApproximateCreationDateTime.getTime() / 1000 }),
    ...(record.Keys === undefined ? {} : { Keys: lambdaImage(record.Keys) }),
    ...(record.NewImage === undefined ? {} : { NewImage: lambdaImage(record.NewImage) }),
    ...(record.OldImage === undefined ? {} : { OldImage: lambdaImage(record.OldImage) }),
    ...(record.SequenceNumber === undefined ? {} : { SequenceNumber: record.SequenceNumber }),
    ...(record.SizeBytes === undefined ? {} : { SizeBytes: record.SizeBytes }),
    ...(record.StreamViewType === undefined ? {} : { StreamViewType: record.StreamViewType }),
  };
}

export function toLambdaRecord(record: SdkRecord, streamArn: string): DynamoDBRecord {
  return {
    ...(record.eventID === undefined ? {} : { eventID: record.eventID }),
    ...(record.eventName === undefined ? {} : { eventName: record.eventName }),
    eventVersion: record.eventVersion ?? '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: record.awsRegion ?? 'local',
    eventSourceARN: streamArn,
    dynamodb: lambdaStreamRecord(record.dynamodb ?? {}),
  };
}
