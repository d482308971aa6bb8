/**
 * Eclipse paho's Python client (Debian's python3-paho-mqtt, 1.6) with `transport="websockets"`, run as a
 * child process: it subscribes, publishes QoS 1 messages to itself through a WebSocket URL and prints how many
 * distinct ones came back.
 */
import { execFile } from 'node:child_process';

/** The client's script: argv is port, path, message count; prints the count received, exits 0 when all came. */
const ROUND_TRIP = `
import sys, threading
import paho.mqtt.client as mqtt

port, path, count = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
expected = {f"m{i}" for i in range(count)}
received = set()
connected, subscribed, complete = threading.Event(), threading.Event(), threading.Event()

def on_message(client, userdata, message):
    received.add(message.payload.decode())
    if expected <= received:
        complete.set()

def on_connect(client, userdata, flags, rc):
    if rc == 0:
        connected.set()

client = mqtt.Client("wstcp-paho", protocol=mqtt.MQTTv311, transport="websockets")
client.ws_set_options(path=path)
client.on_connect = on_connect
client.on_subscribe = lambda client, userdata, mid, granted_qos: subscribed.set()
client.on_message = on_message
client.connect("127.0.0.1", port)
client.loop_start()
try:
    if not connected.wait(10):
        sys.exit("no CONNACK")
    client.subscribe("wstcp/paho", qos=1)
    if not subscribed.wait(10):
        sys.exit("no SUBACK")
    for info in [client.publish("wstcp/paho", f"m{i}", qos=1) for i in range(count)]:
        info.wait_for_publish(10)
    complete.wait(10)
finally:
    client.disconnect()
    client.loop_stop()
print(len(received & expected))
sys.exit(0 if expected <= received else 1)
`;

export interface PahoResult {
  /** The exit code, or the signal's name when the timeout killed it. */
  readonly code: number | string;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the round trip with `python` against ws://127.0.0.1:PORT/PATH; killed after `timeoutMs`. */
export function pahoRoundTrip(
  python: string,
  port: number,
  messages: number,
  timeoutMs = 30000,
  path = '/mqtt',
): Promise<PahoResult> {
  return new Promise((resolve) => {
    execFile(
      python,
      ['-c', ROUND_TRIP, String(port), path, String(messages)],
      { timeout: timeoutMs, killSignal: 'SIGKILL', encoding: 'utf8' },
      (error, stdout, stderr) => {
        const code = error ? (error.signal ?? (typeof error.code === 'number' ? error.code : 1)) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}
