//! Azure OpenAI and Azure AI (in progress).
