"""Step 2b of the flow: Locust users and load runs with recall and latency."""
