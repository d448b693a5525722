import { describe, expect, it } from 'vitest';
import { FLOOD_ARRIVALS, FLOOD_STARTS, FLOOD_WINDOW_MS, FloodGate } from '../../src/wecom/flood.js';
import { ManualClock } from '../helpers/clock.js';

/** Starts `count` turns and records the order and time each was let through. */
function queue(gate: FloodGate, clock: ManualClock, count: number) {
  const through: { index: number; at: number }[] = [];
  for (let index = 0; index < count; index++) void gate.turn().then(() => through.push({ index, at: clock.now() }));
  return through;
}

describe('flood gate', () => {
  it('never holds a message back while the event loop has room, however many arrive', async () => {
    const clock = new ManualClock();
    const gate = new FloodGate({ clock, busy: () => 0.5 });
    for (let i = 0; i < 10 * FLOOD_ARRIVALS; i++) gate.arrived();
    await clock.advance(FLOOD_WINDOW_MS);
    const through = queue(gate, clock, 100);
    await clock.advance(0);
    expect(through).toHaveLength(100);
    expect(gate.flooding).toBe(false);
  });

  it('lets a few messages start per window while callbacks flood a saturated loop, in order, and the rest once it ends', async () => {
    const clock = new ManualClock();
    const gate = new FloodGate({ clock, busy: () => 1 });
    const flood = async (windows: number) => {
      for (let w = 0; w < windows; w++) {
        for (let i = 0; i < FLOOD_ARRIVALS; i++) gate.arrived();
        await clock.advance(FLOOD_WINDOW_MS);
      }
    };
    await flood(1);
    gate.arrived(); // the first arrival of the next window closes the flooded one
    expect(gate.flooding).toBe(true);
    const through = queue(gate, clock, 40);
    await clock.advance(0);
    expect(through).toHaveLength(FLOOD_STARTS);
    await flood(3);
    expect(through.length).toBeGreaterThanOrEqual(3 * FLOOD_STARTS);
    expect(through.length).toBeLessThanOrEqual(4 * FLOOD_STARTS);
    // The burst is over: the next window has no arrivals, and the backlog starts at once.
    await clock.advance(2 * FLOOD_WINDOW_MS);
    expect(gate.flooding).toBe(false);
    expect(through).toHaveLength(40);
    expect(through.map((t) => t.index)).toEqual([...Array(40).keys()]);
  });

  it('calls a trickle of callbacks no flood even when the loop is busy with something else (an alert storm)', async () => {
    const clock = new ManualClock();
    const gate = new FloodGate({ clock, busy: () => 1 });
    for (let w = 0; w < 4; w++) {
      for (let i = 0; i < FLOOD_ARRIVALS / 5; i++) gate.arrived();
      await clock.advance(FLOOD_WINDOW_MS);
    }
    const through = queue(gate, clock, 30);
    await clock.advance(0);
    expect(through).toHaveLength(30);
  });
});
