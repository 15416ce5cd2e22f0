import { describe, expect, it } from 'vitest';
import { CacheAvailability } from './cache-availability.js';

describe('CacheAvailability', () => {
  function setup() {
    let now = 0;
    let answering = false;
    let probes = 0;
    const availability = new CacheAvailability('redis', () => now);
    availability.useProbe(async () => {
      probes++;
      if (!answering) throw new Error('cache did not answer within 500 ms');
    });
    return {
      availability,
      probes: () => probes,
      answer: (value: boolean) => (answering = value),
      advance: (ms: number) => (now += ms),
    };
  }

  it('while down, requests start at most one probe a second; the first answer marks it up', async () => {
    const { availability, probes, answer, advance } = setup();
    availability.markDown(new Error('cache did not answer within 500 ms'));
    expect(availability.usable()).toBe(false);
    expect(availability.usable()).toBe(false);
    await availability.probeNow();
    expect(probes()).toBe(1);
    advance(500);
    expect(availability.usable()).toBe(false);
    expect(probes()).toBe(1);
    answer(true);
    advance(500);
    expect(availability.usable()).toBe(false);
    expect(probes()).toBe(2);
    await availability.probeNow();
    expect(availability.usable()).toBe(true);
    expect(availability.error).toBeUndefined();
  });

  it('stays down while a recovery step fails, and runs the steps before it is used again', async () => {
    const { availability, answer } = setup();
    const order: string[] = [];
    let stepFails = true;
    availability.beforeRecovery(async () => {
      order.push(availability.isUp ? 'step while up' : 'step while down');
      if (stepFails) throw new Error('invalidation failed');
    });
    availability.markDown(new Error('gone'));
    answer(true);
    expect(await availability.probeNow()).toBe(false);
    expect(availability.error).toBe('invalidation failed');
    stepFails = false;
    expect(await availability.probeNow()).toBe(true);
    expect(order).toEqual(['step while down', 'step while down']);
    // Up already: a probe (from /health) does not run the steps again.
    expect(await availability.probeNow()).toBe(true);
    expect(order).toHaveLength(2);
  });

  it('a failed probe of a cache marked up marks it down', async () => {
    const { availability } = setup();
    expect(await availability.probeNow()).toBe(false);
    expect(availability.isUp).toBe(false);
  });
});
