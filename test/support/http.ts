/** A response read whole, with headers as a plain object, so tests can compare exactly. */
export interface HttpResult {
  status: number;
  headers: Record<string, string>;
  text: string;
  json: () => any;
}

export async function request(baseUrl: string, path: string, init: RequestInit & { headers?: Record<string, string> } = {}): Promise<HttpResult> {
  const response = await fetch(baseUrl + path, { redirect: 'manual', ...init });
  const text = await response.text();
  return {
    status: response.status,
    headers: Object.fromEntries(response.headers.entries()),
    text,
    json: () => JSON.parse(text),
  };
}
