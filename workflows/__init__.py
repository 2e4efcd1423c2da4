"""The core: definitions, the DAG and state machines, the orchestrator, step types, the API."""
