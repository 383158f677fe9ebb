import { availableParallelism } from 'node:os';

// sharp runs in libuv's threadpool (sharp.concurrency() is 1 on glibc without jemalloc);
// 4 threads by default starve it next to fs work. Only effective before the pool starts.
process.env.UV_THREADPOOL_SIZE ??= String(Math.max(4, availableParallelism() * 2));
