//! AWS Bedrock Converse with SigV4 (in progress).
