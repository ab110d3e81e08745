/**
 * The TLS relay in-process, where the sanitizers see every socket: TLS
 * through it, clients that do not speak TLS, and no socket left behind.
 */

import { TLS_SERVER_REPLY } from "../../lib/wire/protocol.ts";
import assert from "node:assert/strict";
import { writeAll } from "../../lib/io/buffered_writer.ts";
import { LineReader } from "../../lib/wire/line_reader.ts";
import { TlsTerminator } from "../../lib/security/tls_terminator.ts";
import { WrongProtocolError } from "../../lib/io/errors.ts";
import { haveOpenssl, makeCertificates, type TestCertificates } from "../support/certs.ts";

const skip = haveOpenssl() ? "" : " (skipped: openssl is not installed; .ci/run installs it)";
const certs: TestCertificates | undefined = skip ? undefined : makeCertificates();
const encoder = new TextEncoder();

function relayTest(name: string, fn: (certs: TestCertificates) => Promise<void>): void {
  Deno.test({ name: name + skip, ignore: certs === undefined, fn: () => fn(certs!) });
}

function terminator({ good }: TestCertificates): TlsTerminator {
  return new TlsTerminator({ cert: Deno.readTextFileSync(good.cert), key: Deno.readTextFileSync(good.key) });
}

relayTest(
  "the relay carries a TLS conversation both ways, and its end reaches the client",
  async (c) => {
    const tls = terminator(c);
    using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    try {
      const clientConn = Deno.connectTls({
        hostname: "127.0.0.1",
        port: listener.addr.port,
        caCerts: [await Deno.readTextFile(c.ca)],
      });
      const outer = await listener.accept();
      const client = await clientConn;
      // The client speaks first, as TLS clients do: start() sees its hello.
      const [channel] = await Promise.all([tls.start(outer), client.handshake()]);
      await channel.handshake();
      await writeAll(client, encoder.encode("to the server\n"));
      assert.equal(await new LineReader(channel, { maxLineBytes: 100 }).readLine(), "to the server");
      await writeAll(channel, encoder.encode("to the client\n"));
      const reader = new LineReader(client, { maxLineBytes: 100 });
      assert.equal(await reader.readLine(), "to the client");
      // Ending TLS properly, then closing: the client sees a clean end.
      await channel.closeWrite();
      assert.equal(await reader.readLine(), null);
      channel.close();
      client.close();
    } finally {
      await tls.close();
    }
  },
);

relayTest("a plain client is told to use TLS and its socket is closed", async (c) => {
  const tls = terminator(c);
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    using client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
    const outer = await listener.accept();
    await writeAll(client, encoder.encode("hello in plain text\n"));
    await assert.rejects(tls.start(outer), WrongProtocolError);
    outer.close();
    const reader = new LineReader(client, { maxLineBytes: 100 });
    assert.equal(await reader.readLine(), TLS_SERVER_REPLY);
    assert.equal(await reader.readLine(), null);
  } finally {
    await tls.close();
  }
});

relayTest("closing the outer socket during the handshake leaves nothing open", async (c) => {
  const tls = terminator(c);
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const clients: Deno.Conn[] = [];
    const starts: Promise<unknown>[] = [];
    for (let i = 0; i < 20; i++) {
      const client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
      clients.push(client);
      const outer = await listener.accept();
      // A client that starts a handshake and then goes quiet.
      await writeAll(client, new Uint8Array([0x16, 0x03, 0x01, 0x00, 0x05]));
      starts.push(
        tls.start(outer).then(async (channel) => {
          const handshake = channel.handshake().catch(() => "gave up");
          outer.close();
          assert.equal(await handshake, "gave up");
        }),
      );
    }
    await Promise.all(starts);
    // Every client sees its connection closed.
    for (const client of clients) {
      assert.equal(await client.read(new Uint8Array(16)).catch(() => null), null);
      client.close();
    }
  } finally {
    await tls.close();
  }
});

relayTest("what the server sent just before closing the channel still reaches the client", async (c) => {
  const tls = terminator(c);
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const caCerts = [await Deno.readTextFile(c.ca)];
    const clientConn = Deno.connectTls({ hostname: "127.0.0.1", port: listener.addr.port, caCerts });
    const outer = await listener.accept();
    using client = await clientConn;
    const [channel] = await Promise.all([tls.start(outer), client.handshake()]);
    await channel.handshake();
    await writeAll(channel, encoder.encode("last words\n"));
    channel.close();
    const reader = new LineReader(client, { maxLineBytes: 100 });
    assert.equal(await reader.readLine(), "last words");
    assert.equal(await reader.readLine(), null);
  } finally {
    await tls.close();
  }
});

relayTest("closing the channel during the handshake closes the client's socket", async (c) => {
  const tls = terminator(c);
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    using client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
    const outer = await listener.accept();
    await writeAll(client, new Uint8Array([0x16, 0x03, 0x01, 0x00, 0x05]));
    const channel = await tls.start(outer);
    const handshake = channel.handshake().catch(() => "gave up");
    channel.close();
    assert.equal(await handshake, "gave up");
    assert.equal(await client.read(new Uint8Array(16)).catch(() => null), null);
  } finally {
    await tls.close();
  }
});
