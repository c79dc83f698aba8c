"""LangGraph analysis graphs and their nodes (TACoreService)."""
