import assert from "node:assert/strict";
import { AccessList, Cidr } from "../../lib/security/access_list.ts";
import { parseIp } from "../../lib/net/address.ts";
import { UsageError } from "../../lib/io/errors.ts";

const ip = (text: string) => parseIp(text)!;

Deno.test("cidr parses IPv4, IPv6 and IPv4-mapped IPv6 addresses", () => {
  assert.deepEqual([...ip("192.0.2.7")], [192, 0, 2, 7]);
  assert.deepEqual([...ip("::ffff:192.0.2.7")], [192, 0, 2, 7]);
  assert.deepEqual([...ip("::ffff:c000:207")], [192, 0, 2, 7]);
  assert.deepEqual([...ip("::1")], [...new Array(15).fill(0), 1]);
  assert.deepEqual([...ip("2001:db8::ff00:42:8329")], [
    0x20,
    0x01,
    0x0d,
    0xb8,
    0,
    0,
    0,
    0,
    0,
    0,
    0xff,
    0x00,
    0,
    0x42,
    0x83,
    0x29,
  ]);
  for (const bad of ["", "1.2.3", "999.1.1.1", "example.com", "fe80::1%eth0", "1::2::3"]) {
    assert.equal(parseIp(bad), undefined, bad);
  }
});

Deno.test("cidr ranges match the addresses inside them, on the same family only", () => {
  const v4 = Cidr.parse("10.1.0.0/16");
  assert.ok(v4.contains(ip("10.1.255.3")));
  assert.ok(!v4.contains(ip("10.2.0.1")));
  assert.ok(v4.contains(ip("::ffff:10.1.2.3")));
  const odd = Cidr.parse("192.168.1.128/25");
  assert.ok(odd.contains(ip("192.168.1.200")));
  assert.ok(!odd.contains(ip("192.168.1.127")));
  const v6 = Cidr.parse("2001:db8::/32");
  assert.ok(v6.contains(ip("2001:db8:1::5")));
  assert.ok(!v6.contains(ip("2001:db9::5")));
  assert.ok(!v6.contains(ip("10.0.0.1")));
  assert.ok(Cidr.parse("0.0.0.0/0").contains(ip("203.0.113.9")));
  assert.ok(!Cidr.parse("::/0").contains(ip("203.0.113.9")));
  assert.ok(Cidr.parse("::1").contains(ip("::1")));
  assert.ok(Cidr.parse("[::1]/128").contains(ip("::1")));
  assert.ok(Cidr.parse("::ffff:10.0.0.0/104").contains(ip("10.9.9.9")));
  assert.ok(Cidr.parse("127.0.0.1").contains(ip("::ffff:127.0.0.1")));
});

Deno.test("cidr rejects malformed ranges with a usage error", () => {
  for (const bad of ["10.0.0.0/33", "::/129", "10.0.0.0/x", "host/8", "10.0.0.0/8/8", "", "::ffff:10.0.0.0/90"]) {
    assert.throws(() => Cidr.parse(bad), UsageError, bad);
  }
});

Deno.test("access list: deny wins, allow limits, empty lets all in", () => {
  const open = AccessList.parse([], []);
  assert.ok(open.open);
  assert.equal(open.refusal("203.0.113.9"), undefined);
  const list = AccessList.parse(["10.0.0.0/8,::1", "192.168.0.0/16"], ["10.9.0.0/16"]);
  assert.equal(list.refusal("10.1.2.3"), undefined);
  assert.equal(list.refusal("::ffff:10.1.2.3"), undefined);
  assert.equal(list.refusal("::1"), undefined);
  assert.equal(list.refusal("192.168.4.4"), undefined);
  assert.equal(list.refusal("10.9.1.1"), "denied by --deny 10.9.0.0/16");
  assert.equal(list.refusal("172.16.0.1"), "not in --allow");
  assert.equal(list.refusal("::2"), "not in --allow");
  assert.equal(AccessList.parse([], ["::1"]).refusal("::1"), "denied by --deny ::1");
  assert.equal(AccessList.parse([], ["::1"]).refusal("127.0.0.1"), undefined);
});
