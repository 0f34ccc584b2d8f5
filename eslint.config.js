// Type-aware lint of everything tsc checks (tsconfig.json): src, test, bench and the root configs.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'coverage/', 'node_modules/', '.data/', 'temp/'] },
  js.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      // Apollo plugin hooks, async iterators and migrations are async by contract, awaiting or not.
      '@typescript-eslint/require-await': 'off',
      // A leading underscore marks a parameter a signature requires; a rest sibling drops a key.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
    },
  },
  {
    // Tests read GraphQL answers as untyped JSON (GraphqlData) and check them with expect().
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
    },
  },
  // Plain JavaScript outside the TypeScript project: this file and the panel's browser code.
  { files: ['**/*.js'], extends: [tseslint.configs.disableTypeChecked] },
  {
    // Browser globals: `tsc -p src/panel/static` (npm run typecheck) checks every name against the DOM types.
    files: ['src/panel/static/**/*.js'],
    rules: { 'no-undef': 'off' },
  },
);
