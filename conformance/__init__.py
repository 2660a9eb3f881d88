"""Step 2a of the flow: differential conformance of ``AsyncMilvusClient`` against ``MilvusClient``."""
