/**
 * IP address ranges in CIDR notation, and allow/deny lists of them.
 *
 * An IPv4 client on a dual-stack socket arrives as `::ffff:a.b.c.d`; it is
 * matched as the IPv4 address it is.
 *
 * @module
 */

import { quote, UsageError } from "../io/errors.ts";
import { type IpBytes, parseIp } from "../net/address.ts";

/** A range of addresses: a network and a prefix length. */
export class Cidr {
  readonly #network: IpBytes;
  readonly #prefix: number;
  /** As written, for messages. */
  readonly text: string;

  private constructor(network: IpBytes, prefix: number, text: string) {
    this.#network = network;
    this.#prefix = prefix;
    this.text = text;
  }

  /**
   * Parses `a.b.c.d/n`, `x:y::z/n`, or a single address (a range of one).
   *
   * @throws {UsageError} when it is not one of those.
   */
  static parse(text: string): Cidr {
    const [address, prefixText, ...rest] = text.trim().split("/");
    const network = parseIp(address.replace(/^\[(.*)\]$/, "$1"));
    // The prefix counts bits of the address as written: 128 for IPv6, even
    // when it is IPv4-mapped (::ffff:10.0.0.0/104 is 10.0.0.0/8).
    const writtenBits = address.includes(":") ? 128 : 32;
    const prefix = prefixText === undefined ? writtenBits : /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
    const shift = network?.length === 4 ? writtenBits - 32 : 0;
    if (network === undefined || rest.length > 0 || !(prefix >= shift && prefix <= writtenBits)) {
      throw new UsageError(
        `Invalid address range ${quote(text)}: expected an IPv4 or IPv6 address, optionally with /PREFIX`,
      );
    }
    return new Cidr(network, prefix - shift, text.trim());
  }

  /** True when `ip` is in this range (an IPv4 address never matches an IPv6 range). */
  contains(ip: IpBytes): boolean {
    if (ip.length !== this.#network.length) return false;
    const whole = this.#prefix >> 3;
    for (let i = 0; i < whole; i++) if (ip[i] !== this.#network[i]) return false;
    const bits = this.#prefix & 7;
    if (bits === 0) return true;
    const mask = (0xff << (8 - bits)) & 0xff;
    return (ip[whole] & mask) === (this.#network[whole] & mask);
  }
}

/**
 * Which client addresses may connect: none of `deny`, and, when `allow` is
 * not empty, one of `allow`.
 */
export class AccessList {
  readonly #allow: Cidr[];
  readonly #deny: Cidr[];

  /** Creates a list; an empty `allow` lets in every address not denied. */
  constructor(allow: Cidr[], deny: Cidr[]) {
    this.#allow = allow;
    this.#deny = deny;
  }

  /**
   * Reads `--allow` and `--deny` values: each a comma-separated list of ranges.
   *
   * @throws {UsageError} on a malformed range.
   */
  static parse(allow: readonly string[], deny: readonly string[]): AccessList {
    const ranges = (values: readonly string[]) =>
      values.flatMap((value) => value.split(",")).filter((part) => part.trim() !== "").map((part) => Cidr.parse(part));
    return new AccessList(ranges(allow), ranges(deny));
  }

  /** True when no rule is set: every address is let in. */
  get open(): boolean {
    return this.#allow.length === 0 && this.#deny.length === 0;
  }

  /** Why `host` may not connect, or `undefined` when it may. */
  refusal(host: string): string | undefined {
    const ip = parseIp(host);
    if (ip === undefined) return "not an IP address";
    const denied = this.#deny.find((range) => range.contains(ip));
    if (denied) return `denied by --deny ${denied.text}`;
    if (this.#allow.length > 0 && !this.#allow.some((range) => range.contains(ip))) return "not in --allow";
    return undefined;
  }
}
