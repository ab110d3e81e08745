/**
 * The runtime's floor for bulk throughput, sending side: connect, read stdin
 * into a buffer, write it to the connection, then end our direction.
 *
 * ```sh
 * deno run -N bench/baselines/pipe_client.ts PORT [BUFFER_KIB] < FILE
 * ```
 *
 * The buffer is 64 KiB unless `BUFFER_KIB` says otherwise.
 *
 * @module
 */

const conn = await Deno.connect({ hostname: "127.0.0.1", port: Number(Deno.args[0]) });
const buffer = new Uint8Array(Number(Deno.args[1] ?? 64) * 1024);
for (let n = await Deno.stdin.read(buffer); n !== null; n = await Deno.stdin.read(buffer)) {
  for (let offset = 0; offset < n;) offset += await conn.write(buffer.subarray(offset, n));
}
await conn.closeWrite();
await conn.read(buffer);
conn.close();
