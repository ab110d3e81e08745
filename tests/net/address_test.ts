import assert from "node:assert/strict";
import { formatAddress, mergeEndpoint, parseEndpointArgs, parseHost, parsePort } from "../../lib/net/address.ts";
import { UsageError } from "../../lib/io/errors.ts";

Deno.test("address parses the positional forms of host and port", () => {
  const parse = (...args: string[]) => parseEndpointArgs(args, { allowZeroPort: true });
  assert.deepEqual(parse(), {});
  assert.deepEqual(parse("5000"), { port: 5000 });
  assert.deepEqual(parse("example.com"), { host: "example.com" });
  assert.deepEqual(parse("example.com", "80"), { host: "example.com", port: 80 });
  assert.deepEqual(parse("localhost:4747"), { host: "localhost", port: 4747 });
  assert.deepEqual(parse("10.0.0.1:22"), { host: "10.0.0.1", port: 22 });
  assert.deepEqual(parse("[::1]:4747"), { host: "::1", port: 4747 });
  assert.deepEqual(parse("[::1]"), { host: "::1" });
  assert.deepEqual(parse("::1"), { host: "::1" });
  assert.deepEqual(parse("fe80::1:2"), { host: "fe80::1:2" });
  assert.deepEqual(parse("::", "0"), { host: "::", port: 0 });
});

Deno.test("address rejects bad hosts and ports with a usage error naming the value", () => {
  const bad: [string[], RegExp][] = [
    [["localhost", "99999"], /Invalid port "99999"/],
    [["localhost", "-1"], /Invalid port "-1"/],
    [["localhost", "http"], /Invalid port "http"/],
    [["localhost:"], /Invalid port ""/],
    [["bad host!"], /Invalid host "bad host!"/],
    [["999.1.1.1"], /Invalid host "999.1.1.1"/],
    [["[not-ipv6]:80"], /Invalid host "\[not-ipv6\]"/],
    [["[1.2.3.4]"], /Invalid host/],
    [["a", "1", "extra"], /Too many arguments/],
    [[":80"], /Invalid host ""/],
  ];
  for (const [args, message] of bad) {
    assert.throws(() => parseEndpointArgs(args, { allowZeroPort: true }), (error: unknown) => {
      assert.ok(error instanceof UsageError, String(error));
      assert.match(error.message, message);
      return true;
    });
  }
});

Deno.test("address allows port 0 only where asked", () => {
  assert.equal(parsePort("0", { allowZero: true }), 0);
  assert.throws(() => parsePort("0", { allowZero: false }), /from 1 to 65535/);
  assert.equal(parsePort("65535", { allowZero: false }), 65535);
});

Deno.test("address accepts names and literals", () => {
  for (const host of ["localhost", "a.b-c.example", "example.com.", "_srv.example", "127.0.0.1", "::", "2001:db8::1"]) {
    assert.equal(parseHost(host), host);
  }
  assert.equal(parseHost("[2001:db8::1]"), "2001:db8::1");
  for (const host of ["", "-lead.example", "a..b", "123", "1.2.3", "x".repeat(64) + ".com", "a b"]) {
    assert.throws(() => parseHost(host), UsageError, host);
  }
});

Deno.test("address formats IPv6 in brackets and IPv4-mapped addresses as IPv4", () => {
  assert.equal(formatAddress("::1", 4747), "[::1]:4747");
  assert.equal(formatAddress("::", 80), "[::]:80");
  assert.equal(formatAddress("127.0.0.1", 80), "127.0.0.1:80");
  assert.equal(formatAddress("::ffff:192.0.2.7", 5), "192.0.2.7:5");
  assert.equal(formatAddress("example.com", 1), "example.com:1");
});

Deno.test("address refuses a host or port given twice", () => {
  assert.deepEqual(mergeEndpoint({ host: "a" }, { port: 1 }), { host: "a", port: 1 });
  assert.throws(() => mergeEndpoint({ host: "a" }, { host: "b" }), /Host given twice/);
  assert.throws(() => mergeEndpoint({ port: 1 }, { port: 2 }), /Port given twice/);
});
