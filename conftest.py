"""The source checkout's pytest setup: the suite's fixtures come from the plugin every install ships
(``conformance/plugin.py``: ``milvus``, ``collection_name``, the conformance fixtures and Hypothesis profiles)."""

# The same name as the pytest11 entry point: when an (editable) install has already loaded the plugin, this is a no-op.
pytest_plugins = ["conformance.plugin"]
