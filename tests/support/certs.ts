/**
 * The secrets the tests use: certificates made with openssl when the tests
 * run (a private CA and server certificates signed by it — good, for
 * another name, expired — another CA, and the README's self-signed recipe),
 * and shared-secret files.
 *
 * @module
 */

/** Writes `secret` to a new temporary file, removed when the process ends; returns its path. */
export function secretFile(secret: string): string {
  const path = Deno.makeTempFileSync({ prefix: "parley-secret-" });
  Deno.writeTextFileSync(path, secret + "\n");
  globalThis.addEventListener("unload", () => Deno.removeSync(path));
  return path;
}

/** Paths of the PEM files made for the tests. */
export interface TestCertificates {
  /** The private CA that signed the server certificates. */
  ca: string;
  /** A CA that signed nothing here. */
  otherCa: string;
  /** For localhost, 127.0.0.1 and ::1. */
  good: { cert: string; key: string };
  /** For other.example only. */
  wrongName: { cert: string; key: string };
  /** For localhost, 127.0.0.1 and ::1, but expired yesterday. */
  expired: { cert: string; key: string };
  /** Self-signed, as the README shows: its own --ca. */
  selfSigned: { cert: string; key: string };
}

/** True when openssl can be run here. */
export function haveOpenssl(): boolean {
  try {
    return new Deno.Command("openssl", { args: ["version"], stdout: "null", stderr: "null" }).outputSync().success;
  } catch {
    return false;
  }
}

function openssl(dir: string, ...args: string[]): void {
  const { success, stderr } = new Deno.Command("openssl", { args, cwd: dir, stdout: "null" }).outputSync();
  if (!success) throw new Error(`openssl ${args.join(" ")}: ${new TextDecoder().decode(stderr)}`);
}

const EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
const LOCAL_NAMES = "DNS:localhost,IP:127.0.0.1,IP:::1";

/** Makes the certificates in a new temporary folder, removed when the process ends. */
export function makeCertificates(): TestCertificates {
  const dir = Deno.makeTempDirSync({ prefix: "parley-certs-" });
  globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
  const path = (name: string) => `${dir}/${name}`;
  const authority = (name: string, subject: string) =>
    openssl(
      dir,
      "req",
      "-x509",
      ...EC_KEY,
      "-keyout",
      `${name}.key`,
      "-out",
      `${name}.pem`,
      "-days",
      "30",
      "-subj",
      subject,
    );
  authority("ca", "/CN=parley CA");
  authority("other", "/CN=other");
  const signed = (name: string, names: string, days: string) => {
    openssl(dir, "req", ...EC_KEY, "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${name}`);
    Deno.writeTextFileSync(
      path(`${name}.ext`),
      `subjectAltName=${names}\nbasicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\n`,
    );
    openssl(
      dir,
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-out",
      `${name}.pem`,
      "-days",
      days,
      "-extfile",
      `${name}.ext`,
    );
    return { cert: path(`${name}.pem`), key: path(`${name}.key`) };
  };
  const good = signed("good", LOCAL_NAMES, "30");
  const wrongName = signed("wrong", "DNS:other.example", "30");
  // A negative validity puts the end of it in the past: expired since yesterday.
  const expired = signed("expired", LOCAL_NAMES, "-1");
  // The README's recipe for a quick private setup.
  openssl(
    dir,
    "req",
    "-x509",
    ...EC_KEY,
    "-days",
    "365",
    "-keyout",
    "self.key",
    "-out",
    "self.pem",
    "-subj",
    "/CN=chat.example.org",
    "-addext",
    `subjectAltName=DNS:chat.example.org,${LOCAL_NAMES}`,
    "-addext",
    "basicConstraints=critical,CA:FALSE",
  );
  return {
    ca: path("ca.pem"),
    otherCa: path("other.pem"),
    good,
    wrongName,
    expired,
    selfSigned: { cert: path("self.pem"), key: path("self.key") },
  };
}
