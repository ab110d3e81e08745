/**
 * The runtime's floor for bulk throughput, receiving side: accept one
 * connection, read into a buffer, write it out.
 *
 * ```sh
 * deno run -N bench/baselines/pipe_server.ts PORT [BUFFER_KIB] > /dev/null
 * ```
 *
 * The buffer is 64 KiB unless `BUFFER_KIB` says otherwise.
 *
 * @module
 */

const listener = Deno.listen({ hostname: "127.0.0.1", port: Number(Deno.args[0]) });
const conn = await listener.accept();
listener.close();
const buffer = new Uint8Array(Number(Deno.args[1] ?? 64) * 1024);
for (let n = await conn.read(buffer); n !== null; n = await conn.read(buffer)) {
  for (let offset = 0; offset < n;) offset += await Deno.stdout.write(buffer.subarray(offset, n));
}
conn.close();
