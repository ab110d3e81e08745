/**
 * Builds `lib/wire/plain_scan_wasm.ts` from `lib/wire/plain_scan.wat` with WABT:
 *
 * ```sh
 * deno task build:wasm
 * ```
 *
 * The generated module holds the WebAssembly bytes, so the programs need no
 * file access to load them, and `deno compile` carries them along.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import wabt from "wabt";

/** The WebAssembly source, and the module generated from it. */
export const WAT_PATH: string = fileURLToPath(new URL("../lib/wire/plain_scan.wat", import.meta.url));
export const OUTPUT_PATH: string = fileURLToPath(new URL("../lib/wire/plain_scan_wasm.ts", import.meta.url));

/** Compiles the WebAssembly text at `path` (with SIMD and relaxed SIMD) to bytes. */
export async function compileWat(path: string): Promise<Uint8Array> {
  const toolkit = await wabt();
  const module = toolkit.parseWat(path, await Deno.readTextFile(path), { simd: true, relaxed_simd: true });
  try {
    module.validate();
    return module.toBinary({}).buffer;
  } finally {
    module.destroy();
  }
}

/** The TypeScript module that carries `bytes`. */
export function generatedModule(bytes: Uint8Array): string {
  const base64 = btoa(String.fromCharCode(...bytes));
  const lines = base64.match(/.{1,100}/g) ?? [];
  return `// Generated from lib/wire/plain_scan.wat by \`deno task build:wasm\`. Do not edit.

/** The compiled scanner of lib/wire/plain_scan.wat, base64-encoded. */
export const PLAIN_SCAN_WASM_BASE64: string =
${lines.map((line) => `  "${line}"`).join(" +\n")};
`;
}

if (import.meta.main) {
  const bytes = await compileWat(WAT_PATH);
  await Deno.writeTextFile(OUTPUT_PATH, generatedModule(bytes));
  console.log(`wrote ${OUTPUT_PATH} (${bytes.length} bytes of WebAssembly)`);
}
