/**
 * The heartbeat bench's baseline, in a process of its own as the server is: a bare Express app that
 * parses the JSON body and answers an acknowledgement of the heartbeat's shape, the floor any
 * Express service pays. Prints `LISTENING <port>` once it listens, stops on SIGTERM.
 *
 *   tsx server-stub/bench/bare-echo.ts
 */
import type { AddressInfo } from 'node:net';
import express from 'express';

const app = express();
app.use(express.json({ limit: '100kb' }));
app.post('/v1/agent/heartbeat', (req, res) => {
  res.json({
    device_id: 'dev_01JD2M7T4X9K3QH5W8N6R2B4CZ',
    status: 'online',
    next_heartbeat_seconds: 60,
    pending_commands: 0,
    server_time: new Date().toISOString(),
    echo: Object.keys(req.body as object).length,
  });
});
const server = app.listen(0, '127.0.0.1', () =>
  console.log(`LISTENING ${(server.address() as AddressInfo).port}`),
);
process.once('SIGTERM', () => server.close(() => process.exit(0)));
