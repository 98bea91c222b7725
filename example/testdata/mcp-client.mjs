// Drives the TypeScript SDK's MCP client (@modelcontextprotocol/sdk)
// against one of the example's MCP endpoints, for example/mcp_test.go:
//
//	node testdata/mcp-client.mjs <endpoint> <cookie or ""> <calls as JSON>
//
// where calls is [{"name": ..., "arguments": ...}, ...]. It prints one JSON
// object: the tools listed (name, annotations, input and output schemas)
// and each call's result, or its error's message.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const [endpoint, cookie, calls] = process.argv.slice(2);
const headers = cookie ? { Cookie: cookie } : {};
const transport = new StreamableHTTPClientTransport(new URL(endpoint), { requestInit: { headers } });
const client = new Client({ name: "wrpc-example-test", version: "1" });
await client.connect(transport);

const { tools } = await client.listTools();
const results = [];
for (const call of JSON.parse(calls)) {
  try {
    results.push(await client.callTool(call));
  } catch (e) {
    results.push({ thrown: e.message });
  }
}
await client.close();
console.log(JSON.stringify({
  server: client.getServerVersion(),
  tools: tools.map(({ name, annotations, inputSchema, outputSchema }) => ({ name, annotations, inputSchema, outputSchema })),
  results,
}));
