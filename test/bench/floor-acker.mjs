// The floor under the village load: what a Node process costs that only takes the readings in.
// `bare`: a TCP server that frames MQTT by hand, parses each reading's JSON and answers PUBACK at
// once — no broker library, no auth, no storage, no history. `aedes`: aedes with none of tend's
// hooks (no auth, no durable PUBACK, no ingest). Neither keeps anything; they say how much of
// tend's CPU per reading any Node process on this workload spends before doing a village's work.
// argv: JSON { mode: 'bare' | 'aedes', port }   IPC: → { ready } once listening
import net from 'node:net';

const { mode, port } = JSON.parse(process.argv[2]);

function bareConnection(sock) {
  let buf = Buffer.alloc(0);
  sock.on('error', () => {});
  sock.on('data', (chunk) => {
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    for (;;) {
      // fixed header: type and flags, then the remaining length (1–4 bytes, 7 bits each)
      let len = 0;
      let mul = 1;
      let i = 1;
      let b;
      do {
        if (i >= buf.length) return;
        b = buf[i++];
        len += (b & 127) * mul;
        mul *= 128;
      } while (b & 128);
      if (buf.length < i + len) return;
      const flags = buf[0];
      const body = buf.subarray(i, i + len);
      buf = buf.subarray(i + len);
      const type = flags >> 4;
      if (type === 1)
        sock.write(Buffer.from([0x20, 2, 0, 0])); // CONNECT → CONNACK accepted
      else if (type === 3) {
        const topicLen = body.readUInt16BE(0);
        const qos = (flags >> 1) & 3;
        const at = 2 + topicLen + (qos > 0 ? 2 : 0);
        JSON.parse(body.subarray(at).toString());
        if (qos > 0) sock.write(Buffer.from([0x40, 2, body[2 + topicLen], body[3 + topicLen]]));
      } else if (type === 12)
        sock.write(Buffer.from([0xd0, 0])); // PINGREQ → PINGRESP
      else if (type === 14) sock.end(); // DISCONNECT
    }
  });
}

let server;
if (mode === 'aedes') {
  const { Aedes } = await import('aedes');
  const broker = await Aedes.createBroker();
  server = net.createServer(broker.handle);
} else {
  server = net.createServer(bareConnection);
}
server.listen(port, '127.0.0.1', () => process.send({ ready: true }));
