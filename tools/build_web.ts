/**
 * Builds `lib/web/assets.ts` from the chat page in `lib/web/page/`:
 *
 * ```sh
 * deno task build:web
 * ```
 *
 * The generated module holds the page, its script and its style sheet as
 * strings, so the programs need no file access to serve them, and
 * `deno compile` carries them along.
 *
 * @module
 */

import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The folder of the page's sources. */
export const PAGE_DIR: string = fileURLToPath(new URL("../lib/web/page/", import.meta.url));
/** The module generated from them. */
export const OUTPUT_PATH: string = fileURLToPath(new URL("../lib/web/assets.ts", import.meta.url));

/** The page's three files, as read from {@linkcode PAGE_DIR}. */
export interface PageSources {
  /** `index.html`. */
  html: string;
  /** `app.js`. */
  js: string;
  /** `app.css`. */
  css: string;
}

/** Reads the page's files from `dir`. */
export async function readPage(dir: string = PAGE_DIR): Promise<PageSources> {
  const read = (name: string) => Deno.readTextFile(join(dir, name));
  const [html, js, css] = await Promise.all([read("index.html"), read("app.js"), read("app.css")]);
  return { html, js, css };
}

/** The TypeScript module that carries `sources` (before `deno fmt`). */
export function generatedModule(sources: PageSources): string {
  return `// Generated from lib/web/page/ by \`deno task build:web\`. Do not edit.

/**
 * The chat page of \`--web\`, generated from \`lib/web/page/\` by
 * \`deno task build:web\`, so that \`deno compile\` carries it. Do not edit:
 * change the files in \`lib/web/page/\` and run the task again.
 *
 * @module
 */

/** The page (\`lib/web/page/index.html\`), served at \`/\`. */
export const PAGE_HTML: string = ${JSON.stringify(sources.html)};

/** The page's script (\`lib/web/page/app.js\`), served at \`/app.js\`. */
export const APP_JS: string = ${JSON.stringify(sources.js)};

/** The page's style sheet (\`lib/web/page/app.css\`), served at \`/app.css\`. */
export const APP_CSS: string = ${JSON.stringify(sources.css)};
`;
}

if (import.meta.main) {
  const sources = await readPage();
  await Deno.writeTextFile(OUTPUT_PATH, generatedModule(sources));
  const size = sources.html.length + sources.js.length + sources.css.length;
  console.log(`wrote ${OUTPUT_PATH} (${size} characters of page)`);
}
