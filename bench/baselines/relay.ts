/**
 * The runtime's floor for the round trip: the least a Deno program can do in
 * parley's place. It takes one connection and copies bytes between it and
 * stdin/stdout, with no framing, checks or escaping.
 *
 * ```sh
 * deno run -N bench/baselines/relay.ts PORT
 * ```
 *
 * @module
 */

interface Reader {
  read(p: Uint8Array): Promise<number | null>;
}

interface Writer {
  write(p: Uint8Array): Promise<number>;
}

async function copy(from: Reader, to: Writer): Promise<void> {
  const buffer = new Uint8Array(64 * 1024);
  for (let n = await from.read(buffer); n !== null; n = await from.read(buffer)) {
    for (let offset = 0; offset < n;) offset += await to.write(buffer.subarray(offset, n));
  }
}

const listener = Deno.listen({ hostname: "127.0.0.1", port: Number(Deno.args[0] ?? 0) });
console.error(`listening on 127.0.0.1:${listener.addr.port}`);
const conn = await listener.accept();
listener.close();
conn.setNoDelay(true);
await Promise.race([copy(conn, Deno.stdout), copy(Deno.stdin, conn)]);
conn.close();
Deno.stdin.close();
