/**
 * The version of parley, read from `deno.json` so that it is stated once.
 *
 * @module
 */

import config from "../../deno.json" with { type: "json" };

/** The version of parley, such as `0.1.0`. */
export const VERSION: string = config.version;
