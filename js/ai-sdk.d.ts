// `llmux/ai-sdk`: a Vercel AI SDK provider (specification v3) over a llmux Router.
import type { EmbeddingModelV3, LanguageModelV3, ProviderV3 } from "@ai-sdk/provider";

/** What the provider uses of a llmux `Router` (any Router instance fits). */
export interface LlmuxRouterLike {
  completion(request: any, options?: { signal?: AbortSignal }): Promise<any>;
  embedding(request: any, options?: { signal?: AbortSignal }): Promise<any>;
}

export interface LlmuxProviderSettings {
  /** The provider name in the models' `provider` field (`<name>.chat`, `<name>.embedding`). Default "llmux". */
  name?: string;
  /** Values per `embedMany` call before the AI SDK splits the batch. Default 2048 (OpenAI's limit). */
  maxEmbeddingsPerCall?: number;
}

export interface LlmuxProvider extends ProviderV3 {
  /** The model group `modelGroup` as a language model. */
  (modelGroup: string): LanguageModelV3;
  languageModel(modelGroup: string): LanguageModelV3;
  chat(modelGroup: string): LanguageModelV3;
  embeddingModel(modelGroup: string): EmbeddingModelV3;
  textEmbeddingModel(modelGroup: string): EmbeddingModelV3;
  /** Always throws `NoSuchModelError`: call `router.imageGeneration()` for images. */
  imageModel(modelId: string): never;
}

/**
 * A Vercel AI SDK provider over `router`: `generateText({ model: llmux("chat") })` routes
 * through the Router in-process. `providerMetadata.llmux` carries `_hidden_params`;
 * `providerOptions.llmux` is merged into the request (router kwargs such as `num_retries`,
 * `fallbacks`, `metadata`). Router errors are `APICallError`s.
 */
export declare function createLlmux(
  router: LlmuxRouterLike,
  settings?: LlmuxProviderSettings,
): LlmuxProvider;
