import { describe, expect, it } from 'vitest';
import { ReadAheadWindow } from './read-ahead-window.js';

describe('ReadAheadWindow', () => {
  it('grants at most `slots` ahead and then strictly in request order', async () => {
    const window = new ReadAheadWindow(2);
    const granted: number[] = [];
    const requests = [0, 1, 2, 3, 4].map((i) => window.acquire().then(() => granted.push(i)));
    await Promise.resolve();
    await Promise.resolve();
    expect(granted).toEqual([0, 1]);
    window.release();
    await Promise.resolve();
    await Promise.resolve();
    expect(granted).toEqual([0, 1, 2]);
    window.release();
    window.release();
    await Promise.all(requests);
    expect(granted).toEqual([0, 1, 2, 3, 4]);
  });

  it('does not let a new request overtake a waiting one', async () => {
    const window = new ReadAheadWindow(1);
    await window.acquire();
    const order: string[] = [];
    const first = window.acquire().then(() => order.push('first'));
    window.release();
    const second = window.acquire().then(() => order.push('second'));
    window.release();
    await Promise.all([first, second]);
    expect(order).toEqual(['first', 'second']);
  });

  it('fails waiting and later requests once closed', async () => {
    const window = new ReadAheadWindow(1);
    await window.acquire();
    const waiting = window.acquire();
    window.close(new Error('gone'));
    await expect(waiting).rejects.toThrow('gone');
    await expect(window.acquire()).rejects.toThrow('gone');
  });
});
