// ioredis 6 ships .d.ts files that import the untyped `redis-errors` (its own dependency); the
// type tests only need ioredis's client classes, so that module is declared as untyped here.
declare module "redis-errors";
