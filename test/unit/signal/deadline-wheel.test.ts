import { describe, expect, it } from 'vitest';
import { DeadlineWheel, type WheelEntry } from '../../../signal/deadline-wheel.js';

class Item implements WheelEntry {
  wheelSlot = -1;
  constructor(readonly name: string) {}
}

const names = (items: Item[]): string[] => items.map((i) => i.name);
const T0 = 1_764_000_000_000;

describe('DeadlineWheel', () => {
  it('never hands out an entry before its deadline, and hands it out at the first take after it', () => {
    const wheel = new DeadlineWheel<Item>(250, T0);
    const a = new Item('a');
    wheel.schedule(a, T0 + 1000.5);
    expect(wheel.takeDue(T0 + 1000)).toEqual([]);
    expect(wheel.takeDue(T0 + 1249)).toEqual([]);
    expect(names(wheel.takeDue(T0 + 1250))).toEqual(['a']);
    expect(wheel.takeDue(T0 + 5000)).toEqual([]);
    expect(a.wheelSlot).toBe(-1);
    expect(wheel.size).toBe(0);
  });

  it('hands out the entries of every passed slot in deadline order, and only those', () => {
    const wheel = new DeadlineWheel<Item>(100, T0);
    const items = ['c', 'a', 'd', 'b'].map((n) => new Item(n));
    const at: Record<string, number> = { a: 150, b: 420, c: 900, d: 260 };
    for (const item of items) wheel.schedule(item, T0 + at[item.name]!);
    expect(names(wheel.takeDue(T0 + 450))).toEqual(['a', 'd']);
    expect(wheel.size).toBe(2);
    expect(names(wheel.takeDue(T0 + 10_000))).toEqual(['b', 'c']);
  });

  it('moves an entry that is scheduled again, so it comes due once, at its new time', () => {
    const wheel = new DeadlineWheel<Item>(100, T0);
    const a = new Item('a');
    wheel.schedule(a, T0 + 200);
    wheel.schedule(a, T0 + 700);
    expect(wheel.size).toBe(1);
    expect(wheel.takeDue(T0 + 500)).toEqual([]);
    expect(names(wheel.takeDue(T0 + 700))).toEqual(['a']);
    wheel.schedule(a, T0 + 2000);
    wheel.schedule(a, T0 + 900);
    expect(names(wheel.takeDue(T0 + 900))).toEqual(['a']);
    expect(wheel.takeDue(T0 + 5000)).toEqual([]);
  });

  it('scheduleNoLaterThan only ever brings an entry forward', () => {
    const wheel = new DeadlineWheel<Item>(100, T0);
    const a = new Item('a');
    wheel.scheduleNoLaterThan(a, T0 + 500);
    wheel.scheduleNoLaterThan(a, T0 + 900);
    expect(names(wheel.takeDue(T0 + 500))).toEqual(['a']);
    wheel.schedule(a, T0 + 2000);
    wheel.scheduleNoLaterThan(a, T0 + 900);
    expect(wheel.takeDue(T0 + 800)).toEqual([]);
    expect(names(wheel.takeDue(T0 + 900))).toEqual(['a']);
    expect(wheel.takeDue(T0 + 2000)).toEqual([]);
  });

  it('puts a deadline already past into the next take, and forgets a cancelled entry', () => {
    const wheel = new DeadlineWheel<Item>(100, T0);
    expect(wheel.takeDue(T0 + 1000)).toEqual([]);
    const late = new Item('late');
    const gone = new Item('gone');
    wheel.schedule(late, T0 + 10);
    wheel.schedule(gone, T0 + 1050);
    wheel.cancel(gone);
    wheel.cancel(gone);
    expect(gone.wheelSlot).toBe(-1);
    expect(names(wheel.takeDue(T0 + 1000))).toEqual([]);
    expect(names(wheel.takeDue(T0 + 1100))).toEqual(['late']);
    expect(wheel.takeDue(T0 + 3000)).toEqual([]);
    expect(wheel.size).toBe(0);
  });

  it('after a long stall hands out every passed slot in order without walking each empty one', () => {
    const wheel = new DeadlineWheel<Item>(1, T0);
    const early = new Item('early');
    const later = new Item('later');
    const future = new Item('future');
    wheel.schedule(later, T0 + 5_000_000);
    wheel.schedule(early, T0 + 20);
    wheel.schedule(future, T0 + 90_000_000);
    expect(names(wheel.takeDue(T0 + 86_400_000))).toEqual(['early', 'later']);
    expect(wheel.size).toBe(1);
    expect(names(wheel.takeDue(T0 + 90_000_000))).toEqual(['future']);
  });

  it('refuses a resolution that is not positive', () => {
    expect(() => new DeadlineWheel<Item>(0, T0)).toThrow(TypeError);
  });
});
