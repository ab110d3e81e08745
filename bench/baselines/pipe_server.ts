/**
 * The runtime's floor for bulk throughput, receiving side: accept one
 * connection, read into a buffer, write it out.
 *
 * ```sh
 * deno run -N bench/baselines/pipe_server.ts PORT > /dev/null
 * ```
 *
 * @module
 */

const listener = Deno.listen({ hostname: "127.0.0.1", port: Number(Deno.args[0]) });
const conn = await listener.accept();
listener.close();
const buffer = new Uint8Array(64 * 1024);
for (let n = await conn.read(buffer); n !== null; n = await conn.read(buffer)) {
  for (let offset = 0; offset < n;) offset += await Deno.stdout.write(buffer.subarray(offset, n));
}
conn.close();
