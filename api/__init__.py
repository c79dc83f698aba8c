"""FastAPI app (APIForge's REST face): start, signal and query workflows; read the store."""
