// The part of @withmemory/sdk the README uses, declared from shared/spec/withmemory-v1.md (§1, §3):
// the package is not on the npm registry, so tests/test_docs.py type-checks the README against this.
declare module "@withmemory/sdk" {
  export interface ClientOptions {
    apiKey: string;
    baseUrl?: string;
  }

  export interface Memory {
    id: string;
    scope: string;
    key: string | null;
    value: string;
    source: string;
    importance: number;
    metadata: Record<string, unknown>;
    createdAt: string;
    updatedAt: string;
  }

  export interface AddParams {
    scope?: string;
    key?: string;
    value: string;
    importance?: number;
    metadata?: Record<string, unknown>;
  }

  export interface RecallParams {
    scope?: string;
    query: string;
    maxItems?: number;
    maxTokens?: number;
    threshold?: "strict" | "balanced" | "permissive";
  }

  export interface RecallResult {
    context: string;
    memories: Memory[];
    request_id: string;
  }

  export interface WithMemoryClient {
    add(params: AddParams): Promise<{ memories: Memory[]; request_id: string }>;
    recall(params: RecallParams): Promise<RecallResult>;
  }

  export function createClient(options: ClientOptions): WithMemoryClient;
}

// Node's `process.env`, the one Node global the README reads.
declare const process: { env: Record<string, string | undefined> };
