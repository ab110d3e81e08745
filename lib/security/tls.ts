/**
 * TLS: reading certificates and keys, saying in plain words why a handshake
 * failed, and telling TLS traffic from plain text by its first bytes.
 *
 * @module
 */

import { FileError, ParleyError } from "../io/errors.ts";
import { readOptionText } from "../io/files.ts";

/** A certificate chain and its private key, in PEM. */
export interface KeyPair {
  /** The certificate chain. */
  cert: string;
  /** The private key. */
  key: string;
}

/** A TLS handshake failed: a certificate that does not verify, or no TLS at all. */
export class TlsError extends ParleyError {}

/** Largest PEM file read: far more than any certificate chain or key needs. */
export const MAX_PEM_BYTES = 1024 * 1024;

/** What a PEM file must hold. */
export type PemKind = "certificate" | "private key";

/** The labels of the PEM blocks that hold each kind. */
const PEM_LABEL: Readonly<Record<PemKind, RegExp>> = {
  certificate: /^CERTIFICATE$/,
  "private key": /^(?:[A-Z0-9]+ )?PRIVATE KEY$/,
};

/** One block of a PEM file: its label and what it holds, or `undefined` when that is not base64 DER. */
interface PemBlock {
  label: string;
  der: Uint8Array | undefined;
}

/** The blocks of a PEM text, in order. */
function pemBlocks(text: string): PemBlock[] {
  return [...text.matchAll(/-----BEGIN ([A-Z0-9 ]+)-----([^-]*)-----END \1-----/g)].map(([, label, body]) => ({
    label,
    der: derOf(body),
  }));
}

/** The bytes of a base64 PEM body when they are one whole DER SEQUENCE, as certificates and keys are. */
function derOf(body: string): Uint8Array | undefined {
  const base64 = body.replace(/\s+/g, "");
  if (base64.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(base64)) return undefined;
  const der = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  try {
    const [element, ...rest] = derChildren(der, { start: 0, end: der.length });
    return element !== undefined && rest.length === 0 && der[0] === 0x30 ? der : undefined;
  } catch (error) {
    if (error instanceof RangeError) return undefined;
    throw error;
  }
}

/**
 * Reads a PEM file named on the command line by `option`, which must hold a
 * block of `kind`, readable: base64 of a DER structure. (What is inside is
 * for TLS to judge; this catches a damaged or wrong file with its name.)
 *
 * @throws {FileError} when it cannot be read, is not PEM, holds no such block, or a damaged one.
 */
export function readPemFile(option: string, path: string, kind: PemKind): string {
  const text = readOptionText(option, path, MAX_PEM_BYTES);
  const blocks = pemBlocks(text);
  if (blocks.length === 0) {
    throw new FileError(`Cannot use ${option} ${path}: not a PEM file (expected "-----BEGIN …-----")`);
  }
  const wanted = blocks.filter((block) => PEM_LABEL[kind].test(block.label));
  if (wanted.length === 0) throw new FileError(`Cannot use ${option} ${path}: it holds no ${kind}`);
  if (wanted.some((block) => block.der === undefined)) {
    throw new FileError(`Cannot use ${option} ${path}: a ${kind} in it is damaged (not base64 of a DER structure)`);
  }
  return text;
}

/** Which end of a TLS handshake is describing its failure. */
export type TlsSide = "client" | "server";

/** What a TLS alert from the other side means, in the words of the side that received it. */
const ALERTS: Readonly<Record<string, Record<TlsSide, string>>> = {
  UnknownCA: {
    client: "the server does not trust our certificate",
    server: "the client does not trust this server's certificate (a self-signed or private certificate: the client " +
      "needs --ca with it)",
  },
  BadCertificate: {
    client: "the server rejected our certificate",
    server: "the client rejected this server's certificate (is it for the name the client used?)",
  },
  CertificateExpired: {
    client: "the server says our certificate has expired",
    server: "the client says this server's certificate has expired",
  },
  CertificateUnknown: {
    client: "the server rejected our certificate",
    server: "the client rejected this server's certificate",
  },
  HandshakeFailure: {
    client: "the server found no TLS version or cipher in common",
    server: "the client found no TLS version or cipher in common",
  },
  ProtocolVersion: {
    client: "the server does not support this TLS version",
    server: "the client does not support this TLS version",
  },
};

/**
 * Describes why a TLS handshake failed, from the error Deno raised, or
 * returns `undefined` when the error is not a TLS failure. The advice fits
 * the side that reads it: only a client can trust a certificate with `--ca`.
 */
export function describeTlsError(error: unknown, side: TlsSide = "client"): string | undefined {
  if (!(error instanceof Error)) return undefined;
  const message = error.message;
  const alert = /received fatal alert: (\w+)/.exec(message)?.[1];
  if (alert !== undefined) {
    return ALERTS[alert]?.[side] ?? `the other side ended the handshake: ${alert}`;
  }
  if (/InvalidContentType|corrupt message/.test(message)) return "the other side does not speak TLS";
  if (error instanceof Deno.errors.UnexpectedEof) {
    return side === "client"
      ? "the server closed the connection during the TLS handshake (it may refuse this address, or be overloaded)"
      : "the connection closed during the TLS handshake";
  }
  // What follows is about the certificate the other side showed: only a client checks one.
  if (/UnknownIssuer|UnknownCA/.test(message)) {
    return "the certificate is not trusted: unknown issuer (for a private or self-signed certificate, use --ca FILE)";
  }
  const wrongName = /not valid for name "([^"]*)"(?:; certificate is only valid for (.*))?/.exec(message);
  if (wrongName) {
    const names = wrongName[2] ? ` (it is for ${wrongName[2].replace(/\w+Name\("?([^")]*)"?\)/g, "$1")})` : "";
    return `the certificate is not valid for ${wrongName[1]}${names}`;
  }
  if (/NotValidForName|BadCertificate/.test(message)) return "the certificate was rejected: not valid for this name";
  if (/certificate expired|CertificateExpired|\bExpired\b/.test(message)) return "the certificate has expired";
  if (/NotValidYet|not valid yet/i.test(message)) return "the certificate is not valid yet";
  if (/CaUsedAsEndEntity/.test(message)) {
    return "the server's certificate is a CA certificate (make it with basicConstraints=CA:FALSE; see the README)";
  }
  const rejected = /invalid peer certificate: (.*)/.exec(message);
  if (rejected) return `the certificate was rejected: ${rejected[1]}`;
  return undefined;
}

/**
 * Describes why a certificate and key cannot be used together, from the
 * error `Deno.listenTls` raised, or returns `undefined` for other errors.
 */
export function describeKeyPairError(error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined;
  const message = error.message;
  if (/KeyMismatch|may not be consistent/.test(message)) return "the key does not belong to the certificate";
  if (/No keys found/.test(message)) return "no private key found in the --tls-key file";
  if (/No certificates found/.test(message)) return "no certificate found in the --tls-cert file";
  if (/failed to parse private key|Unable to decode key/.test(message)) {
    return "the private key cannot be read (PEM RSA, ECDSA or EdDSA)";
  }
  if (/BadEncoding|Unable to decode certificate|invalid peer certificate/.test(message)) {
    return "the certificate cannot be read (it is damaged, or not a certificate)";
  }
  return undefined;
}

/**
 * True when the first certificate in `pem` is self-signed: its issuer is its
 * subject. Such a certificate is its own CA, so a client trusts it with
 * `--ca`. False for one signed by a CA, or when it cannot be read.
 */
export function isSelfSigned(pem: string): boolean {
  const der = pemBlocks(pem).find((block) => block.label === "CERTIFICATE")?.der;
  if (der === undefined) return false;
  try {
    // Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { [0] version OPTIONAL,
    //   serialNumber, signature, issuer, validity, subject, … }, … }
    const tbs = derChildren(der, derChildren(der, { start: 0, end: der.length })[0])[0];
    const fields = derChildren(der, tbs);
    const [issuer, , subject] = fields.slice(der[fields[0].start] === 0xa0 ? 3 : 2);
    const bytes = (e: DerElement) => der.subarray(e.start, e.end).join();
    return issuer !== undefined && subject !== undefined && bytes(issuer) === bytes(subject);
  } catch (error) {
    if (error instanceof RangeError || error instanceof DOMException) return false;
    throw error;
  }
}

/** Where one DER element lies, tag and length included, and where its contents start. */
interface DerElement {
  start: number;
  end: number;
  contents?: number;
}

/**
 * The elements inside the DER element `outer` (the whole of `der` at the
 * top level).
 *
 * @throws {RangeError} when the encoding runs past its container.
 */
function derChildren(der: Uint8Array, outer: DerElement): DerElement[] {
  const children: DerElement[] = [];
  for (let at = outer.contents ?? outer.start; at < outer.end;) {
    let length = der[at + 1];
    let contents = at + 2;
    if (length >= 0x80) {
      const size = length & 0x7f;
      length = 0;
      for (let i = 0; i < size; i++) length = length * 256 + der[contents++];
    }
    const end = contents + length;
    if (Number.isNaN(end) || end > outer.end) throw new RangeError("DER element runs past its container");
    children.push({ start: at, end, contents });
    at = end;
  }
  return children;
}

/** True when `bytes` start like a TLS record (handshake, alert, …), as no text line does. */
export function looksLikeTls(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] >= 0x14 && bytes[0] <= 0x17 && bytes[1] === 0x03;
}
