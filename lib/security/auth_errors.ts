/**
 * The errors of the secure handshake that code outside it needs to name,
 * kept apart from it so that naming them does not load the handshake (and
 * its cryptography) into a program that never uses it.
 *
 * @module
 */

import { ParleyError, WrongProtocolError } from "../io/errors.ts";

/** A failed proof of the shared secret: a wrong code, or a wrong secret. */
export class AuthError extends ParleyError {}

/** The other side does not speak the secure handshake at all (a plain peer). */
export class NotSecureError extends WrongProtocolError {}
