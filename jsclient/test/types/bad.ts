// Misuses the generated types: each marked line must fail to compile.
import { createClient } from "../../module.js";
import type { ExampleAPI } from "../../../echorpc/testdata/api.golden";

const api = createClient<ExampleAPI>("/rpc/api");

export async function misuse(): Promise<void> {
  await api.call("add_numberz", [1, 2]); // unknown function
  await api.call("add_numbers", "1, 2"); // wrong input type
  const s: string = await api.call("add_numbers", [1]); // wrong output type
  console.log(s);
}

// Streams: a streaming function (stream: true in the generated types) can
// only be streamed, and any other only be called.
type StreamAPI = ExampleAPI & { countdown: { input: number; output: number; stream: true } };
const streams = createClient<StreamAPI>("/rpc/api");

export async function misuseStreams(): Promise<void> {
  streams.stream("add_numbers", [1, 2]); // not a streaming function
  await streams.call("countdown", 3); // a streaming function cannot be called
  streams.stream("countdown", "3"); // wrong input type
  for await (const n of streams.stream("countdown", 3)) {
    const s: string = n; // wrong item type
    console.log(s);
  }
}
