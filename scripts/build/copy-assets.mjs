// `pnpm build` step after tsc, run in a package's folder: tsc emits only JavaScript, so every other
// file under src/ (stylesheets read beside their module through import.meta.url) is copied to the
// same place under dist/. Plain JavaScript: the build needs no TypeScript loader for its own steps.
import { cpSync, statSync } from 'node:fs';

cpSync('src', 'dist', {
  recursive: true,
  filter: (source) => statSync(source).isDirectory() || !source.endsWith('.ts'),
});
