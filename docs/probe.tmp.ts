import { startServer } from '@meridian/server';
const s = await startServer({ database: ':memory:', port: 0, host: '127.0.0.1', adminUsername: 'root', adminPassword: 'root-password-for-tests', passwordCost: 1024 });
console.log(s.url);
await new Promise((r) => setTimeout(r, Number(process.env.HOLD ?? 600000)));
await s.close();
