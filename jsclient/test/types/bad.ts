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
