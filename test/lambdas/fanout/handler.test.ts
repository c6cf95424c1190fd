// The fan-out's Lambda entry: EventBridge's scheduled event goes to the republish, a stream batch to
// the fan-out, anything else fails loudly; metrics are published after every invocation. No AWS:
// the two handlers are stubs.
import type { DynamoDBStreamEvent, ScheduledEvent } from 'aws-lambda';
import { describe, expect, it, vi } from 'vitest';
import { createLambdaHandler } from '../../../lambdas/fanout/handler.js';
import { isScheduledEvent } from '../../../lambdas/fanout/republish.js';
import { SCHEDULED_EVENT } from '../../helpers/fixtures.js';

const STREAM_EVENT: DynamoDBStreamEvent = {
  Records: [
    {
      eventName: 'MODIFY',
      dynamodb: { Keys: { pk: { S: 'META' }, sk: { S: 'VERSION' } }, NewImage: { version: { N: '7' } } },
    },
  ],
};

function entry() {
  const stream = vi.fn(async (_event: DynamoDBStreamEvent): Promise<void> => undefined);
  const republish = vi.fn(async (_event: ScheduledEvent) => ({
    version: 7,
    written: false,
    cellsBehind: 0,
    cellsTold: false,
  }));
  const publishMetrics = vi.fn();
  return {
    stream,
    republish,
    publishMetrics,
    handler: createLambdaHandler(() => ({ stream, republish }), publishMetrics),
  };
}

describe('fan-out Lambda entry', () => {
  it('hands a scheduled event to the republish and returns its result', async () => {
    const { stream, republish, handler } = entry();
    expect(await handler(SCHEDULED_EVENT)).toEqual({ version: 7, written: false, cellsBehind: 0, cellsTold: false });
    expect(republish).toHaveBeenCalledWith(SCHEDULED_EVENT);
    expect(stream).not.toHaveBeenCalled();
  });

  it('hands a stream batch to the fan-out and answers nothing (the mapping asks for no item failures)', async () => {
    const { stream, republish, handler } = entry();
    expect(await handler(STREAM_EVENT)).toBeUndefined();
    expect(stream).toHaveBeenCalledWith(STREAM_EVENT);
    expect(republish).not.toHaveBeenCalled();
  });

  it('lets a failure of either handler fail the invocation', async () => {
    const { republish, stream, handler } = entry();
    republish.mockRejectedValueOnce(new Error('snapshot write failed'));
    await expect(handler(SCHEDULED_EVENT)).rejects.toThrow('snapshot write failed');
    stream.mockRejectedValueOnce(new Error('SSM said no'));
    await expect(handler(STREAM_EVENT)).rejects.toThrow('SSM said no');
  });

  it('refuses an event of neither shape instead of doing nothing', async () => {
    const { stream, republish, handler } = entry();
    await expect(handler({ hello: 'world' })).rejects.toThrow('neither a DynamoDB stream event nor a scheduled event');
    await expect(handler({ Records: 'not a list' })).rejects.toThrow('neither');
    await expect(handler(null)).rejects.toThrow('neither');
    expect(stream).not.toHaveBeenCalled();
    expect(republish).not.toHaveBeenCalled();
  });

  it('publishes the metrics once per invocation, failed or not', async () => {
    const { republish, publishMetrics, handler } = entry();
    await handler(STREAM_EVENT);
    expect(publishMetrics).toHaveBeenCalledTimes(1);
    await handler(SCHEDULED_EVENT);
    expect(publishMetrics).toHaveBeenCalledTimes(2);
    republish.mockRejectedValueOnce(new Error('snapshot write failed'));
    await expect(handler(SCHEDULED_EVENT)).rejects.toThrow();
    await expect(handler({ hello: 'world' })).rejects.toThrow();
    expect(publishMetrics).toHaveBeenCalledTimes(4);
  });
});

describe('isScheduledEvent', () => {
  it('recognizes only EventBridge scheduled events', () => {
    expect(isScheduledEvent(SCHEDULED_EVENT)).toBe(true);
    expect(isScheduledEvent(STREAM_EVENT)).toBe(false);
    expect(isScheduledEvent({ ...SCHEDULED_EVENT, 'detail-type': 'Object Created' })).toBe(false);
    expect(isScheduledEvent({ ...SCHEDULED_EVENT, source: 'aws.s3' })).toBe(false);
    expect(isScheduledEvent(null)).toBe(false);
    expect(isScheduledEvent('Scheduled Event')).toBe(false);
  });
});
