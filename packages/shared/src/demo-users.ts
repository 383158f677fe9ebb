/** Accounts `pnpm start` makes sure exist outside production, so the README's examples work at once. */
export const demoUsers = [
  { id: 1, username: 'demo1' },
  { id: 2, username: 'demo2' },
  { id: 3, username: 'demo3' },
] as const;
