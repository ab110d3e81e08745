/**
 * Fair shares of a bounded pool: a newcomer always gets in, a source at its
 * cap loses its own oldest place, a full pool takes from the heaviest source,
 * and a source holding one place keeps it while another holds more.
 */

import fc from "fast-check";
import assert from "node:assert/strict";
import { Admission, type Place, sourceOf } from "../../lib/net/admission.ts";

/** A place together with a record of its evictions. */
interface Tracked {
  source: string;
  place: Place;
  evicted: number;
}

/** Admits `source`, counting how often its place is evicted. */
function take(pool: Admission, source: string): Tracked {
  const tracked: Tracked = { source, place: { release() {}, [Symbol.dispose]() {} }, evicted: 0 };
  tracked.place = pool.admit(source, () => tracked.evicted++);
  return tracked;
}

function tcp(hostname: string): Deno.NetAddr {
  return { transport: "tcp", hostname, port: 4242 };
}

Deno.test("admission admits a newcomer into an empty pool and counts it", () => {
  const pool = new Admission({ max: 3, maxPerSource: 2 });
  assert.equal(pool.size, 0);
  assert.equal(pool.countFrom("a"), 0);
  const a = take(pool, "a");
  assert.equal(pool.size, 1);
  assert.equal(pool.countFrom("a"), 1);
  assert.equal(pool.countFrom("b"), 0);
  assert.equal(pool.evictions, 0);
  assert.equal(a.evicted, 0);
});

Deno.test("admission evicts the oldest place of a source at its cap, synchronously, and frees it", () => {
  const pool = new Admission({ max: 10, maxPerSource: 2 });
  const first = take(pool, "a");
  const second = take(pool, "a");
  const other = take(pool, "b");
  const third = take(pool, "a");
  // Evicted within admit(), before it returned.
  assert.equal(first.evicted, 1);
  assert.equal(second.evicted, 0);
  assert.equal(other.evicted, 0);
  assert.equal(pool.countFrom("a"), 2);
  assert.equal(pool.countFrom("b"), 1);
  assert.equal(pool.size, 3);
  assert.equal(pool.evictions, 1);
  // The next eviction of "a" takes the second place, not the third.
  const fourth = take(pool, "a");
  assert.equal(second.evicted, 1);
  assert.equal(third.evicted + fourth.evicted, 0);
  assert.equal(pool.evictions, 2);
  third.place.release();
  fourth.place.release();
  second.place.release();
  assert.equal(pool.countFrom("a"), 0);
  assert.equal(pool.size, 1);
});

Deno.test("admission has already freed an evicted place when its callback runs", () => {
  const pool = new Admission({ max: 10, maxPerSource: 2 });
  const during: [number, number][] = [];
  pool.admit("a", () => during.push([pool.countFrom("a"), pool.size]));
  take(pool, "a");
  take(pool, "b");
  assert.deepEqual(during, []);
  take(pool, "a");
  assert.deepEqual(during, [[1, 2]]);
});

Deno.test("admission, when full, evicts the oldest place of the source holding the most", () => {
  const pool = new Admission({ max: 5 });
  const b1 = take(pool, "b");
  const a1 = take(pool, "a");
  const a2 = take(pool, "a");
  const a3 = take(pool, "a");
  const c1 = take(pool, "c");
  const d1 = take(pool, "d");
  assert.deepEqual([b1, a1, a2, a3, c1, d1].map((t) => t.evicted), [0, 1, 0, 0, 0, 0]);
  assert.equal(pool.size, 5);
  assert.equal(pool.countFrom("a"), 2);
  assert.equal(pool.evictions, 1);
  // a holds 2, everyone else 1: a again, its next oldest.
  take(pool, "e");
  assert.deepEqual([b1, a1, a2, a3, c1, d1].map((t) => t.evicted), [0, 1, 1, 0, 0, 0]);
  // Now every source holds one: the oldest place of all (b's) goes.
  take(pool, "f");
  assert.deepEqual([b1, a1, a2, a3, c1, d1].map((t) => t.evicted), [1, 1, 1, 0, 0, 0]);
  assert.equal(pool.size, 5);
  assert.equal(pool.evictions, 3);
});

Deno.test("admission breaks a tie by the source whose oldest place is oldest", () => {
  const pool = new Admission({ max: 4 });
  // "a" appears first, but after its first place is released its oldest is younger than b's.
  const a1 = take(pool, "a");
  const b1 = take(pool, "b");
  const a2 = take(pool, "a");
  const b2 = take(pool, "b");
  a1.place.release();
  const a3 = take(pool, "a");
  assert.equal(pool.size, 4);
  take(pool, "c");
  assert.deepEqual([a1, b1, a2, b2, a3].map((t) => t.evicted), [0, 1, 0, 0, 0]);
  // Now a holds 2 (a2, a3) and b 1: a's oldest.
  take(pool, "d");
  assert.deepEqual([a1, b1, a2, b2, a3].map((t) => t.evicted), [0, 1, 1, 0, 0]);
});

Deno.test("admission breaks a tie by age, not by which source came first", () => {
  const pool = new Admission({ max: 4 });
  const b1 = take(pool, "b");
  const a1 = take(pool, "a");
  const b2 = take(pool, "b");
  const a2 = take(pool, "a");
  take(pool, "c");
  assert.deepEqual([b1, a1, b2, a2].map((t) => t.evicted), [1, 0, 0, 0]);
});

Deno.test("admission release is idempotent, and a released or evicted place no longer counts", () => {
  const pool = new Admission({ max: 3, maxPerSource: 2 });
  const a1 = take(pool, "a");
  const a2 = take(pool, "a");
  a1.place.release();
  a1.place.release();
  assert.equal(pool.size, 1);
  assert.equal(pool.countFrom("a"), 1);
  // The released place does not count toward the cap: no eviction for the next one.
  const a3 = take(pool, "a");
  assert.equal(a2.evicted, 0);
  assert.equal(pool.evictions, 0);
  // An eviction, then a release of the evicted place, changes nothing.
  const a4 = take(pool, "a");
  assert.equal(a2.evicted, 1);
  assert.equal(pool.size, 2);
  a2.place.release();
  a2.place[Symbol.dispose]();
  assert.equal(pool.size, 2);
  assert.equal(pool.countFrom("a"), 2);
  assert.equal(a3.evicted + a4.evicted, 0);
  // Disposing is releasing, once.
  {
    using _b = pool.admit("b", () => {});
    assert.equal(pool.size, 3);
  }
  assert.equal(pool.size, 2);
  a3.place[Symbol.dispose]();
  a3.place.release();
  a4.place.release();
  assert.equal(pool.size, 0);
  assert.equal(pool.countFrom("a"), 0);
  assert.equal(pool.evictions, 1);
});

Deno.test("admission rejects a pool of no places and caps maxPerSource at max", () => {
  assert.throws(() => new Admission({ max: 0 }), RangeError);
  assert.throws(() => new Admission({ max: NaN }), RangeError);
  const pool = new Admission({ max: 2, maxPerSource: 5 });
  const a1 = take(pool, "a");
  take(pool, "a");
  take(pool, "a");
  assert.equal(a1.evicted, 1);
  assert.equal(pool.size, 2);
});

Deno.test("sourceOf keeps IPv4 as it is and unwraps IPv4-mapped IPv6", () => {
  assert.equal(sourceOf(tcp("192.0.2.7")), "192.0.2.7");
  assert.equal(sourceOf(tcp("127.0.0.1")), "127.0.0.1");
  assert.equal(sourceOf(tcp("::ffff:192.0.2.7")), "192.0.2.7");
  assert.equal(sourceOf(tcp("::ffff:c000:207")), "192.0.2.7");
});

Deno.test("sourceOf groups IPv6 by its /64", () => {
  assert.equal(sourceOf(tcp("2001:db8:1:2:3:4:5:6")), "2001:db8:1:2::/64");
  assert.equal(sourceOf(tcp("2001:db8:1:2:ffff:ffff:ffff:ffff")), "2001:db8:1:2::/64");
  assert.equal(sourceOf(tcp("2001:0DB8:0001:0002::1")), "2001:db8:1:2::/64");
  assert.notEqual(sourceOf(tcp("2001:db8:1:3::1")), sourceOf(tcp("2001:db8:1:2::1")));
  assert.equal(sourceOf(tcp("2001:db8::1")), "2001:db8::/64");
  assert.equal(sourceOf(tcp("::1")), "::/64");
  assert.equal(sourceOf({ transport: "udp", hostname: "fd00:abcd:0:1::99", port: 1 }), "fd00:abcd:0:1::/64");
});

Deno.test("sourceOf leaves a host name that is no IP address as it is", () => {
  assert.equal(sourceOf(tcp("example.com")), "example.com");
  assert.equal(sourceOf(tcp("localhost")), "localhost");
  assert.equal(sourceOf({ transport: "unix", path: "/tmp/socket" }), "unix");
});

type Step = { kind: "admit"; source: string; releaseOnEvict: boolean } | { kind: "release"; index: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("admit" as const),
      source: fc.constantFrom("a", "b", "c", "d", "e"),
      releaseOnEvict: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("release" as const), index: fc.nat() }) },
);

interface ModelPlace {
  source: string;
  place: Place | undefined;
  live: boolean;
}

Deno.test("property: admits and releases keep every bound, and a source with one place keeps it while another has more", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 6 }),
      fc.option(fc.integer({ min: 1, max: 7 }), { nil: undefined }),
      fc.array(step, { maxLength: 60 }),
      (max: number, maxPerSource: number | undefined, steps: Step[]) => {
        const pool = new Admission({ max, maxPerSource });
        const cap = Math.min(maxPerSource ?? max, max);
        const places: ModelPlace[] = [];
        const liveCounts = (): Map<string, number> => {
          const counts = new Map<string, number>();
          for (const p of places) if (p.live) counts.set(p.source, (counts.get(p.source) ?? 0) + 1);
          return counts;
        };
        let before = new Map<string, number>();
        let victims: ModelPlace[] = [];
        let evictions = 0;
        for (const s of steps) {
          if (s.kind === "release") {
            if (places.length === 0) continue;
            const target = places[s.index % places.length];
            target.place!.release();
            target.live = false;
          } else {
            before = liveCounts();
            victims = [];
            const entry: ModelPlace = { source: s.source, place: undefined, live: true };
            entry.place = pool.admit(s.source, () => {
              assert.ok(entry.live, "a place that was not held was evicted");
              entry.live = false;
              victims.push(entry);
              evictions++;
              // Freed before the callback runs.
              assert.equal(pool.countFrom(entry.source), before.get(entry.source)! - 1);
              // Fairness: a source holding one place loses it only when nobody holds two.
              if (before.get(entry.source) === 1) {
                for (const [source, count] of before) {
                  assert.ok(count < 2, `${entry.source} lost its only place while ${source} held ${count}`);
                }
              }
              if (s.releaseOnEvict) entry.place!.release();
            });
            places.push(entry);
            const total = [...before.values()].reduce((sum, n) => sum + n, 0);
            const atCap = (before.get(s.source) ?? 0) >= cap;
            assert.equal(victims.length, atCap || total >= max ? 1 : 0, "one eviction exactly when needed");
            if (atCap) assert.equal(victims[0].source, s.source, "a source at its cap gives up its own place");
            if (victims.length === 1) {
              const oldest = places.find((p) => p.source === victims[0].source && (p.live || p === victims[0]));
              assert.equal(victims[0], oldest, "the oldest place of the source is evicted");
            }
          }
          const counts = liveCounts();
          assert.equal(pool.size, [...counts.values()].reduce((sum, n) => sum + n, 0));
          assert.ok(pool.size <= max);
          assert.equal(pool.evictions, evictions);
          for (const source of ["a", "b", "c", "d", "e"]) {
            assert.equal(pool.countFrom(source), counts.get(source) ?? 0);
            assert.ok(pool.countFrom(source) <= cap);
          }
        }
      },
    ),
    { numRuns: 200 },
  );
});
