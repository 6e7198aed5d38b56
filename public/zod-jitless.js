// Zod 4 (the MCP SDK's schemas) asks once whether eval works, with `new Function('')`, as it builds
// its first object schema. Under a Content-Security-Policy without 'unsafe-eval' the answer is no,
// and Zod parses without its compiled fast path, as it must; but the browser reports the attempt as
// a violation. Zod's `jitless` setting skips the question. Zod keeps its settings in
// `globalThis.__zod_globalConfig`, so this classic script, which runs before any module of the page,
// sets it before Zod loads: `z.config({ jitless: true })` in the app's code would come too late,
// because the bundle evaluates the SDK's chunk before the entry's own code. (README,
// "Content-Security-Policy".)
(globalThis.__zod_globalConfig ??= {}).jitless = true;
