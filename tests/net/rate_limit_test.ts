import assert from "node:assert/strict";
import { RateLimit } from "../../lib/net/rate_limit.ts";

Deno.test("rate limit: a burst at once, then so many a second, per source", () => {
  let now = 0;
  const limit = new RateLimit({ burst: 3, perSecond: 2, now: () => now });
  assert.deepEqual([1, 2, 3, 4].map(() => limit.take("a")), [true, true, true, false]);
  // Another source has its own bucket.
  assert.equal(limit.take("b"), true);
  // Half a second brings one more for a.
  now = 499;
  assert.equal(limit.take("a"), false);
  now = 500;
  assert.equal(limit.take("a"), true);
  assert.equal(limit.take("a"), false);
  // A long quiet refills the bucket, but never past the burst.
  now = 60_000;
  assert.deepEqual([1, 2, 3, 4].map(() => limit.take("a")), [true, true, true, false]);
});

Deno.test("rate limit: memory stays bounded whatever the number of sources", () => {
  let now = 0;
  const limit = new RateLimit({ burst: 1, perSecond: 1, maxSources: 2, now: () => now });
  assert.equal(limit.take("a"), true);
  assert.equal(limit.take("b"), true);
  // A third source pushes out the longest quiet one, which starts again with a full bucket.
  assert.equal(limit.take("c"), true);
  assert.equal(limit.take("a"), true);
  assert.equal(limit.take("c"), false);
  now = 1000;
  assert.equal(limit.take("c"), true);
});
