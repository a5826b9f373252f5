// typescript-eslint's recommended rules (syntax only, so they are cheap) plus a few rules that need type information,
// chosen one by one: the full type-checked preset reported some 700 findings unrelated to what the lint is for.
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.tap/**'] },
  {
    files: ['{api,sim,harness,plugins,reports,bench,scripts}/**/*.ts'],
    extends: [tseslint.configs.recommended],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: dirname(fileURLToPath(import.meta.url)) },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // a new member of a union must not compile into a switch that silently ignores it
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          // tap queues a subtest itself and reports it whether or not its promise is awaited
          allowForKnownSafeCalls: [{ from: 'package', package: '@tapjs/test', name: 'test' }],
        },
      ],
      // tsc's noUnusedLocals/noUnusedParameters report these already, with the same underscore convention
      '@typescript-eslint/no-unused-vars': 'off',
      // `let x; const f = () => x; x = …;`: a closure that reads x before its one assignment cannot be const
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      // an interface that only extends one other names a role of the same shape (ApplyInput is a ManifestSourceInput)
      '@typescript-eslint/no-empty-object-type': ['error', { allowInterfaces: 'with-single-extends' }],
    },
  },
);
